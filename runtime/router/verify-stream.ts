// Re-checks a whole object's bytes against its stored xxhash64 as they stream to the client.
// Guarantees: a body whose bytes or length differ from the version's ends with an error (the client sees
// a broken download, never silently wrong bytes); a matching body passes through unchanged.
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { checksumHex, createXxhash64 } from "../../core/hash.ts";
import type { ObjectVersion } from "../../core/object-version.ts";

export function verifyingStream(source: Readable, version: Pick<ObjectVersion, "checksum" | "size" | "bucket" | "key">): Readable {
  const hash = createXxhash64();
  let size = 0;
  const verifier = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const checksum = checksumHex(hash.digest());
      if (size !== version.size || checksum !== version.checksum) {
        callback(new Error(`body of ${version.bucket}/${version.key} failed verification: ${size} bytes with xxhash64 ${checksum}, expected ${version.size} bytes with ${version.checksum}`));
      } else callback();
    },
  });
  source.on("error", (error) => verifier.destroy(error));
  return source.pipe(verifier);
}
