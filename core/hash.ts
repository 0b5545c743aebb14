// Hashes used for placement: xxhash64 (xxhash-wasm), seeded so that ring positions, object partitions
// and content checksums never collide by construction.
// Guarantees: the same input gives the same output in every process and in the simulator.
// The WASM module is instantiated once, at import, with top-level await.

import xxhash from "xxhash-wasm";
import { assert } from "./assert.ts";
import type { PartitionId } from "./ids.ts";

const api = await xxhash();

/** xxhash64 of a string as an unsigned bigint. */
export function xxhash64(text: string, seed = 0n): bigint {
  return api.h64(text, seed);
}

/** xxhash64 of bytes as an unsigned bigint. */
export function xxhash64Bytes(bytes: Uint8Array, seed = 0n): bigint {
  return api.h64Raw(bytes, seed);
}

/** xxhash32 of a string: for 32-bit ring positions. */
export function xxhash32(text: string, seed = 0): number {
  return api.h32(text, seed) >>> 0;
}

/** A streaming xxhash64, for checksums of bodies that never sit in memory whole. */
export interface StreamingHash64 {
  update(bytes: Uint8Array | string): StreamingHash64;
  digest(): bigint;
}

export function createXxhash64(seed = 0n): StreamingHash64 {
  return api.create64(seed);
}

export const checksumHex = (value: bigint): string => value.toString(16).padStart(16, "0");

/** partition = xxhash64(bucket + "/" + key) >> (64 - P), as DESIGN.md fixes it. */
const partitionShifts = Array.from({ length: 25 }, (_, bits) => BigInt(64 - bits));

export function partitionOfKey(bucket: string, key: string, partitionBits: number): PartitionId {
  assert(partitionBits >= 1 && partitionBits <= 24, () => `partitionBits ${partitionBits} outside 1..24`);
  return Number(api.h64(`${bucket}/${key}`, 0n) >> partitionShifts[partitionBits]!) as PartitionId;
}

/** A node's place on the 32-bit ring: the top 32 bits of xxhash64 of its id. */
export function ringPositionOfNode(id: string): number {
  return Number(xxhash64(id) >> 32n);
}

/**
 * A fast integer mix (murmur3 finalizer) for scores that must be cheap in hot loops, such as the order in
 * which a joining node looks at partitions. Not for anything persisted across versions of the code.
 */
export function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
