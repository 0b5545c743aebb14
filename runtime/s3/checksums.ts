// The flexible checksums S3 clients send (x-amz-checksum-<algorithm>), computed incrementally.
// Guarantees: a Checksummer fed a byte sequence in any slicing returns the same base64 digest AWS computes
// for the whole sequence (big-endian CRC value or hash bytes, base64). CRC32 uses node:zlib's native crc32
// when present (Node >= 20.15) and a table otherwise; CRC32C and CRC64NVME have no native Node
// implementation and use a table loop (hundreds of MB/s, used only when a client asks for them).

import { createHash, type Hash } from "node:crypto";
import * as zlib from "node:zlib";

export const CHECKSUM_ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The header (and trailer) name that carries a checksum: "x-amz-checksum-crc32". */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export function checksumAlgorithmOf(text: string): ChecksumAlgorithm | undefined {
  const upper = text.trim().toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper) ? (upper as ChecksumAlgorithm) : undefined;
}

/** Length in bytes of the digest of an algorithm (what the base64 value must decode to). */
export function checksumBytes(algorithm: ChecksumAlgorithm): number {
  switch (algorithm) {
    case "CRC32":
    case "CRC32C":
      return 4;
    case "CRC64NVME":
      return 8;
    case "SHA1":
      return 20;
    case "SHA256":
      return 32;
  }
}

/** True when `value` is canonical base64 of exactly the digest size of `algorithm`. */
export function isChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, "base64");
  return bytes.length === checksumBytes(algorithm) && bytes.toString("base64") === value;
}

// --- CRC tables --------------------------------------------------------------------------------------

function crc32Table(polynomialReflected: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomialReflected : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32_TABLE = crc32Table(0xedb88320);
const CRC32C_TABLE = crc32Table(0x82f63b78);

function crc32TableUpdate(table: Uint32Array, crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32Function = (data: Uint8Array, value: number) => number;
const nativeCrc32 = (zlib as unknown as { crc32?: Crc32Function }).crc32;

/** CRC-32 (IEEE, as zlib and S3 compute it) of `data`, continuing from `crc` (0 to start). */
export const crc32Update: Crc32Function =
  typeof nativeCrc32 === "function" ? (data, crc) => nativeCrc32(data, crc) : (data, crc) => crc32TableUpdate(CRC32_TABLE, crc, data);

export function crc32TableOnly(data: Uint8Array, crc = 0): number {
  return crc32TableUpdate(CRC32_TABLE, crc, data);
}

export function crc32cUpdate(data: Uint8Array, crc: number): number {
  return crc32TableUpdate(CRC32C_TABLE, crc, data);
}

// CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones; kept as two 32-bit halves.
const CRC64_LOW = new Uint32Array(256);
const CRC64_HIGH = new Uint32Array(256);
{
  const polyLow = 0xac4bc9b5;
  const polyHigh = 0x9a6c9329;
  for (let n = 0; n < 256; n++) {
    let low = n;
    let high = 0;
    for (let k = 0; k < 8; k++) {
      const carry = low & 1;
      low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
      high = high >>> 1;
      if (carry) {
        low = (low ^ polyLow) >>> 0;
        high = (high ^ polyHigh) >>> 0;
      }
    }
    CRC64_LOW[n] = low;
    CRC64_HIGH[n] = high;
  }
}

// --- Checksummer ---------------------------------------------------------------------------------------

export class Checksummer {
  readonly algorithm: ChecksumAlgorithm;
  private crc = 0;
  private crcLow = 0xffffffff;
  private crcHigh = 0xffffffff;
  private readonly hash: Hash | undefined;

  constructor(algorithm: ChecksumAlgorithm) {
    this.algorithm = algorithm;
    this.hash = algorithm === "SHA1" ? createHash("sha1") : algorithm === "SHA256" ? createHash("sha256") : undefined;
  }

  update(data: Uint8Array): void {
    switch (this.algorithm) {
      case "CRC32":
        this.crc = crc32Update(data, this.crc);
        return;
      case "CRC32C":
        this.crc = crc32cUpdate(data, this.crc);
        return;
      case "CRC64NVME": {
        let low = this.crcLow;
        let high = this.crcHigh;
        for (let i = 0; i < data.length; i++) {
          const index = (low ^ data[i]!) & 0xff;
          low = (((low >>> 8) | (high << 24)) ^ CRC64_LOW[index]!) >>> 0;
          high = ((high >>> 8) ^ CRC64_HIGH[index]!) >>> 0;
        }
        this.crcLow = low;
        this.crcHigh = high;
        return;
      }
      case "SHA1":
      case "SHA256":
        this.hash!.update(data);
        return;
    }
  }

  /** The base64 digest; call once, after the last update. */
  digestBase64(): string {
    switch (this.algorithm) {
      case "CRC32":
      case "CRC32C": {
        const bytes = Buffer.allocUnsafe(4);
        bytes.writeUInt32BE(this.crc >>> 0);
        return bytes.toString("base64");
      }
      case "CRC64NVME": {
        const bytes = Buffer.allocUnsafe(8);
        bytes.writeUInt32BE(~this.crcHigh >>> 0, 0);
        bytes.writeUInt32BE(~this.crcLow >>> 0, 4);
        return bytes.toString("base64");
      }
      case "SHA1":
      case "SHA256":
        return this.hash!.digest("base64");
    }
  }
}
