// Versions and bodies for the BlobStore contract, free of the test runner so that a child process (the
// file-system store's crash test, fs-writer.ts) can build the same ones.
import { checksumHex, xxhash64Bytes } from "../../../core/hash.ts";
import type { ObjectVersion, VersionStamp } from "../../../core/object-version.ts";
import type { VersionHeader } from "../../../core/ports.ts";
import { formatStamp } from "../../../core/version.ts";

let stampMs = 1_760_000_000_000;
/** A fresh stamp, later than every one before it. */
export function freshStamp(writer = "w1"): VersionStamp {
  stampMs += 1;
  return formatStamp({ physicalMs: stampMs, logical: 0, writer });
}

export const checksumOf = (bytes: Uint8Array): string => checksumHex(xxhash64Bytes(bytes));

export function bytesOf(size: number, salt: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + salt * 17 + (i >> 8)) & 0xff;
  return bytes;
}

export function headerOf(bucket: string, key: string, stamp: VersionStamp, size: number, deleted = false): VersionHeader {
  return { bucket, key, stamp, size, contentType: "application/octet-stream", userMeta: { m: "1" }, deleted };
}

export const versionOf = (header: VersionHeader, checksum: string): ObjectVersion => ({ ...header, etag: "0123456789abcdef0123456789abcdef", checksum });


/** Version `i` of the crash test's writer process (fs-writer.ts): its header, committed version and bytes. */
export function writerVersion(i: number): { header: VersionHeader; version: ObjectVersion; bytes: Buffer } {
  const bytes = bytesOf(256 * 1024, i);
  const header = headerOf("crash", `k${String(i).padStart(6, "0")}`, formatStamp({ physicalMs: 1_770_000_000_000 + i, logical: 0, writer: "crash" }), bytes.length);
  return { header, version: versionOf(header, checksumOf(bytes)), bytes };
}
