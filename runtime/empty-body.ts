// The body of a tombstone (and of any empty object): a stream that ends at once. Its xxhash64 is
// core's EMPTY_BODY_CHECKSUM.
import { PassThrough, type Readable } from "node:stream";

export function emptyBody(): Readable {
  const body = new PassThrough();
  body.end();
  return body;
}
