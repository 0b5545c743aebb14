// Bodies in the simulator: an object of many MiB is its size and the xxhash64 of its content, never bytes.
// Guarantees: a body's contentHash is the checksum (16 hex digits, as core/hash.ts formats it) that a node
// would compute over the bytes it holds, so a bit flip or a transfer error is a body whose contentHash no longer
// matches the version's checksum; corrupt marks such a body for the trace and the oracle.
// Assumes: a client's body is identified by (key, write sequence), which the workload hashes into contentHash.

import { checksumHex, xxhash64 } from "../core/hash.ts";

export interface SimBody {
  readonly size: number;
  readonly contentHash: string;
  readonly corrupt?: boolean;
}

export function clientBody(key: string, writeSeq: number, size: number): SimBody {
  return { size, contentHash: checksumHex(xxhash64(`${key}#${writeSeq}`)) };
}

/** The same size with other bits: what a flipped bit on disk or on the wire leaves behind. */
export function flipped(body: SimBody, salt: string): SimBody {
  return { size: body.size, contentHash: checksumHex(xxhash64(`${body.contentHash}^${salt}`)), corrupt: true };
}

/** The S3 ETag of a simulated body (an MD5 in the runtime; any stable 32 hex digits here). */
export const etagOf = (body: SimBody): string => `${body.contentHash}${body.contentHash}`;

export const emptyBody: SimBody = { size: 0, contentHash: checksumHex(xxhash64("")) };

/**
 * The body of a completed multipart object, as the simulator stands it in for the runtime's manifest: its size
 * is the parts' total and its hash names the upload and its parts' ETags in order, so a client that knows what
 * it completed can tell its object from any other. (The manifest itself rides in the version's metadata,
 * SIM_MANIFEST_META: simulated bodies carry no bytes.)
 */
export function multipartBody(uploadId: string, parts: readonly { readonly etag: string; readonly size: number }[]): SimBody {
  return { size: parts.reduce((sum, p) => sum + p.size, 0), contentHash: checksumHex(xxhash64(`multipart:${uploadId}:${parts.map((p) => p.etag).join(",")}`)) };
}

export const SIM_MANIFEST_META = "x-ringstore-sim-manifest";
