// Small objects whose bytes the router holds in full (bucket records, tag records, upload records, multipart
// manifests), written through the replicated store like any object.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { checksumHex, xxhash64Bytes } from "../../core/hash.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ObjectService } from "./object-service.ts";

const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";

export async function putBytes(objects: ObjectService, target: { bucket: string; key: string; contentType: string; metadata: Record<string, string>; etag?: string }, bytes: Buffer): Promise<ObjectVersion> {
  return objects.put({
    bucket: target.bucket,
    key: target.key,
    contentType: target.contentType,
    metadata: target.metadata,
    size: bytes.length,
    body: Readable.from([bytes], { objectMode: false }),
    digests: Promise.resolve({
      md5Hex: target.etag ?? (bytes.length === 0 ? EMPTY_MD5 : createHash("md5").update(bytes).digest("hex")),
      checksum: checksumHex(xxhash64Bytes(bytes)),
      size: bytes.length,
    }),
  });
}
