// A body pulled from a peer, checked as it flows (core/repair.ts RepairContext.verifyBody in the runtime).
// Guarantees: the stream handed on ends cleanly only if the whole body had exactly the version's size and
// xxhash64; otherwise it is destroyed with a CorruptBlobError after its last byte, so the store's write of it
// (writeCommitted, replaceCommitted) fails and installs nothing. An error or a destroy on either side reaches
// the other (pipeline).
// Assumes: whole bodies only; a range has no checksum of its own, so it is handed on as the peer sent it.
import { Transform, pipeline } from "node:stream";
import type { Readable } from "node:stream";
import { checksumHex, createXxhash64 } from "../../core/hash.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange, TransportFailure } from "../../core/ports.ts";
import { type Result, ok } from "../../core/result.ts";
import { CorruptBlobError } from "./fs-blob-store.ts";

export function verifyPulledBody(body: Readable, version: ObjectVersion, range: ByteRange | undefined): Result<Readable, TransportFailure> {
  if (range !== undefined) return ok(body);
  const hash = createXxhash64();
  let bytesTotal = 0;
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytesTotal += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      const checksum = checksumHex(hash.digest());
      if (bytesTotal === version.size && checksum === version.checksum) callback();
      else callback(new CorruptBlobError(`pulled body of ${bytesTotal} B with checksum ${checksum}, version names ${version.size} B with ${version.checksum}`));
    },
  });
  // The callback only keeps an error from going unhandled: the reader of `checked` sees it as the stream's error.
  return ok(pipeline(body, checked, () => {}));
}
