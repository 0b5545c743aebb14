// Reading a multipart object: its manifest, then its parts in order, one at a time, as one stream.
// Guarantees: the stream carries exactly the bytes of the range asked for; a part that cannot be read
// ends the stream with an error (the client sees a broken download, never a silent gap); only one part's
// stream is open at a time, so memory stays bounded whatever the object's size.
import { Readable } from "node:stream";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange } from "../../core/ports.ts";
import { collectBody } from "../s3/payload.ts";
import { parseManifest, partVersion, partsInRange } from "../../core/manifest.ts";
import type { ObjectService } from "./object-service.ts";

/** 10,000 parts at ~200 bytes each, with room to spare. */
export const MANIFEST_BYTES_MAX = 8 * 1024 * 1024;

export async function openManifestObject(objects: ObjectService, version: ObjectVersion, range: ByteRange, signal?: AbortSignal): Promise<Readable> {
  const manifest = parseManifest((await collectBody(await objects.open(version, undefined, signal), MANIFEST_BYTES_MAX)).toString("utf8"));
  const pieces = partsInRange(manifest.parts, range.start, range.endInclusive);
  // The first part is opened before the response starts, so an unreadable object fails with a clean error.
  const first = pieces[0] ? await objects.openVersion(partVersion(pieces[0].part), { start: pieces[0].start, endInclusive: pieces[0].endInclusive }, signal) : undefined;
  async function* bytes(): AsyncGenerator<Buffer> {
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const stream = i === 0 && first ? first : await objects.openVersion(partVersion(piece.part), { start: piece.start, endInclusive: piece.endInclusive }, signal);
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: 1024 * 1024 });
}
