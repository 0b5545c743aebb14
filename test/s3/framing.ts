// Test helpers: build aws-chunked bodies (unsigned with a trailer, or signed chunk by chunk) and run a
// body through decodePayload, collecting what comes out.

import { Readable } from "node:stream";
import { Checksummer, checksumHeaderName, type ChecksumAlgorithm } from "../../runtime/s3/checksums.ts";
import { decodePayload, type PayloadOptions, type PayloadResult } from "../../runtime/s3/payload.ts";
import { chunkSignature, sha256Hex, trailerSignature, type SigV4Auth } from "../../runtime/s3/sigv4.ts";

export function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  const checksummer = new Checksummer(algorithm);
  checksummer.update(data);
  return checksummer.digestBase64();
}

/** Splits `data` into chunks of the given sizes (cycled; the last chunk takes what is left). */
export function chunksOf(data: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  let index = 0;
  while (offset < data.length) {
    const size = Math.max(1, sizes[index % sizes.length] ?? data.length);
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
    index++;
  }
  return chunks;
}

/** STREAMING-UNSIGNED-PAYLOAD-TRAILER framing, as the AWS SDK sends it. */
export function frameUnsigned(chunks: readonly Buffer[], trailer?: { name: string; value: string }): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n"));
  if (trailer !== undefined) parts.push(Buffer.from(`${trailer.name}:${trailer.value}\r\n`));
  parts.push(Buffer.from("\r\n"));
  return Buffer.concat(parts);
}

/** STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) framing, each chunk signed from the previous signature. */
export function frameSigned(chunks: readonly Buffer[], auth: Pick<SigV4Auth, "signingKey" | "amzDate" | "scope" | "signature">, trailer?: { name: string; value: string }): Buffer {
  const parts: Buffer[] = [];
  let previous = auth.signature;
  for (const chunk of [...chunks.filter((chunk) => chunk.length > 0), Buffer.alloc(0)]) {
    const signature = chunkSignature(auth, previous, sha256Hex(chunk));
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`));
    if (chunk.length > 0) parts.push(chunk, Buffer.from("\r\n"));
    previous = signature;
  }
  if (trailer === undefined) {
    parts.push(Buffer.from("\r\n"));
  } else {
    const signature = trailerSignature(auth, previous, `${trailer.name}:${trailer.value}\n`);
    parts.push(Buffer.from(`${trailer.name}:${trailer.value}\r\nx-amz-trailer-signature:${signature}\r\n\r\n`));
  }
  return Buffer.concat(parts);
}

export function unsignedTrailerHeaders(decodedBytes: number, algorithm: ChecksumAlgorithm = "CRC32"): Record<string, string> {
  return {
    "content-encoding": "aws-chunked",
    "transfer-encoding": "chunked",
    "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "x-amz-decoded-content-length": String(decodedBytes),
    "x-amz-trailer": checksumHeaderName(algorithm),
    "x-amz-sdk-checksum-algorithm": algorithm,
  };
}

/** Splits a buffer at the given points (sorted, deduplicated) into the pieces a socket might deliver. */
export function splitAt(data: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.map((point) => Math.max(0, Math.min(data.length, point))))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    if (cut > start) pieces.push(data.subarray(start, cut));
    start = Math.max(start, cut);
  }
  if (start < data.length) pieces.push(data.subarray(start));
  return pieces;
}

export interface DecodeRun {
  readonly started: boolean;
  readonly bytes: Buffer;
  readonly result: PayloadResult;
  readonly streamError: unknown;
  readonly ended: boolean;
}

/** Feeds `pieces` through decodePayload and collects everything: bytes, result, stream outcome. */
export async function decodePieces(pieces: readonly Buffer[], options: PayloadOptions): Promise<DecodeRun> {
  const source = Readable.from(pieces, { objectMode: false });
  const started = decodePayload(source, options);
  if (!started.ok) return { started: false, bytes: Buffer.alloc(0), result: started, streamError: undefined, ended: false };
  const parts: Buffer[] = [];
  let streamError: unknown;
  let ended = false;
  started.value.body.once("end", () => {
    ended = true;
  });
  try {
    for await (const part of started.value.body) parts.push(part as Buffer);
  } catch (error) {
    streamError = error;
  }
  const result = await started.value.result;
  return { started: true, bytes: Buffer.concat(parts), result, streamError, ended };
}
