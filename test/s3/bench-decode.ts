// Throughput of decodePayload on a 256 MiB body, for each body form (a measurement script, not a test).
// Run: npx tsx test/s3/bench-decode.ts [MiB]
// The framed stream is cut into 64 KiB pieces that do not line up with the aws-chunked chunks, as a socket
// delivers it. Prints MiB/s per form, plus MD5 alone (the floor: every form computes the ETag's MD5).

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { Checksummer } from "../../runtime/s3/checksums.ts";
import { decodePayload, type PayloadOptions } from "../../runtime/s3/payload.ts";
import { chunkSignature, sha256Hex, signingKeyFor, type SigV4Auth } from "../../runtime/s3/sigv4.ts";

const MIB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 256);
const totalBytes = totalMiB * MIB;
const CHUNK_BYTES = 64 * 1024;
const PIECE_BYTES = 64 * 1024;

const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
const chunkCount = totalBytes / CHUNK_BYTES;

function piecesOf(block: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < block.length; offset += PIECE_BYTES) pieces.push(block.subarray(offset, offset + PIECE_BYTES));
  return pieces;
}

/** A source that yields the same framed block `repeat` times, then `tail`, in 64 KiB pieces. */
function source(block: Buffer, repeat: number, tail: Buffer): Readable {
  const blockPieces = piecesOf(block);
  return Readable.from(
    (function* () {
      for (let i = 0; i < repeat; i++) yield* blockPieces;
      if (tail.length > 0) yield tail;
    })(),
    { objectMode: false },
  );
}

async function measure(name: string, make: () => { body: Readable; options: PayloadOptions }): Promise<void> {
  const { body, options } = make();
  const started = process.hrtime.bigint();
  const decoded = decodePayload(body, options);
  if (!decoded.ok) throw decoded.error;
  let bytes = 0;
  for await (const part of decoded.value.body) bytes += (part as Buffer).length;
  const result = await decoded.value.result;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.ok) throw result.error;
  if (bytes !== totalBytes) throw new Error(`${name}: decoded ${bytes} bytes, expected ${totalBytes}`);
  console.log(`${name.padEnd(44)} ${(bytes / MIB / seconds).toFixed(0).padStart(6)} MiB/s  (${seconds.toFixed(2)} s)`);
}

const crc = new Checksummer("CRC32");
const whole = createHash("sha256");
for (let i = 0; i < chunkCount; i++) {
  crc.update(chunk);
  whole.update(chunk);
}
const crc32Base64 = crc.digestBase64();
const sha256Whole = whole.digest("hex");

const unsignedFramed = Buffer.concat([Buffer.from(`${CHUNK_BYTES.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
const blockChunks = 16; // 1 MiB of data per repeated block, so pieces straddle chunk headers
const unsignedBlock = Buffer.concat(Array.from({ length: blockChunks }, () => unsignedFramed));

const auth: SigV4Auth = {
  accessKey: "AK",
  signingKey: signingKeyFor("secret", "20261125", "us-east-1"),
  scope: "20261125/us-east-1/s3/aws4_request",
  region: "us-east-1",
  amzDate: "20261125T000000Z",
  signature: "0".repeat(64),
  payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  presigned: false,
  signedHeaders: ["host"],
};

function signedStream(): Readable {
  // Chunk signatures chain, so every chunk header differs: generate them lazily.
  const chunkSha = sha256Hex(chunk);
  return Readable.from(
    (function* () {
      let previous = auth.signature;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for (let i = 0; i <= chunkCount; i++) {
        const last = i === chunkCount;
        const signature = chunkSignature(auth, previous, last ? sha256Hex("") : chunkSha);
        previous = signature;
        const header = Buffer.from(`${(last ? 0 : CHUNK_BYTES).toString(16)};chunk-signature=${signature}\r\n`);
        const parts = last ? [header, Buffer.from("\r\n")] : [header, chunk, Buffer.from("\r\n")];
        for (const part of parts) {
          pending.push(part);
          pendingBytes += part.length;
        }
        if (pendingBytes >= MIB || last) {
          yield* piecesOf(Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
        }
      }
    })(),
    { objectMode: false },
  );
}

console.log(`node ${process.version}, ${totalMiB} MiB body, ${CHUNK_BYTES / 1024} KiB aws-chunks, ${PIECE_BYTES / 1024} KiB socket pieces`);
{
  const started = process.hrtime.bigint();
  const md5 = createHash("md5");
  for (let i = 0; i < chunkCount; i++) md5.update(chunk);
  md5.digest();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${"MD5 alone (floor)".padEnd(44)} ${(totalBytes / MIB / seconds).toFixed(0).padStart(6)} MiB/s`);
}
await measure("STREAMING-UNSIGNED-PAYLOAD-TRAILER + CRC32", () => ({
  body: source(unsignedBlock, chunkCount / blockChunks, Buffer.from(`0\r\nx-amz-checksum-crc32:${crc32Base64}\r\n\r\n`)),
  options: {
    headers: {
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "x-amz-decoded-content-length": String(totalBytes),
      "x-amz-trailer": "x-amz-checksum-crc32",
      "content-encoding": "aws-chunked",
    },
  },
}));
await measure("UNSIGNED-PAYLOAD, crc32Always: false (MD5 only)", () => ({
  body: source(Buffer.concat(Array.from({ length: blockChunks }, () => chunk)), chunkCount / blockChunks, Buffer.alloc(0)),
  options: { headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-length": String(totalBytes) }, crc32Always: false },
}));
await measure("UNSIGNED-PAYLOAD (Content-Length)", () => ({
  body: source(Buffer.concat(Array.from({ length: blockChunks }, () => chunk)), chunkCount / blockChunks, Buffer.alloc(0)),
  options: { headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-length": String(totalBytes) } },
}));
await measure("signed payload hash (sha256) + CRC32 header", () => ({
  body: source(Buffer.concat(Array.from({ length: blockChunks }, () => chunk)), chunkCount / blockChunks, Buffer.alloc(0)),
  options: { headers: { "x-amz-content-sha256": sha256Whole, "content-length": String(totalBytes), "x-amz-checksum-crc32": crc32Base64 } },
}));
await measure("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", () => ({
  body: signedStream(),
  options: { headers: { "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": String(totalBytes) }, auth },
}));
