// Request body decoding and verification for every body form S3 clients send.
// Guarantees:
//  - decodePayload returns a Readable of the object bytes (aws-chunked framing removed) and a promise of
//    the verification result. The Readable emits 'end' ONLY after every check passed (declared length,
//    x-amz-content-sha256, chunk and trailer signatures, Content-MD5, x-amz-checksum-*); on any failure it
//    emits 'error' with the S3Error instead, and `result` resolves { ok: false, error }. So a consumer that
//    commits only on 'end' (or only when `result` is ok) never commits a body that failed a check.
//  - Bytes pass through as they arrive (a chunk is never held back whole); memory is bounded by the frame
//    line limits below, whatever the chunk sizes. Checksums and MD5 are computed in the same single pass,
//    with hash.update on whole slices (no per-byte JavaScript on the data path, except CRC32C/CRC64NVME).
//  - Errors that the headers alone reveal (EntityTooLarge, MissingContentLength, InvalidDigest, bad
//    checksum headers) are returned before any byte is read.
// Assumes: `source` is the HTTP body after HTTP/1.1 de-chunking (node:http does that), and `auth` is the
// verified SigV4 result for this request (undefined for an anonymous request).
// On failure the source is unpiped and drained (resume()) so the caller can still send the error response;
// a caller that does not want to read the rest of a large bad body should close the connection after it.

import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { assert } from "../../core/assert.ts";
import { S3Error } from "./errors.ts";
import {
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  UNSIGNED_PAYLOAD,
  chunkSignature,
  headerText,
  signaturesEqual,
  trailerSignature,
  type RequestHeaders,
  type SigV4Auth,
} from "./sigv4.ts";
import {
  CHECKSUM_ALGORITHMS,
  Checksummer,
  checksumAlgorithmOf,
  checksumHeaderName,
  isChecksumValue,
  type ChecksumAlgorithm,
} from "./checksums.ts";

export const OBJECT_BYTES_MAX_DEFAULT = 5 * 1024 * 1024 * 1024;
/** A chunk header line is "hex;chunk-signature=<64 hex>": ~90 bytes; extensions beyond this are refused. */
export const CHUNK_LINE_BYTES_MAX = 4096;
export const TRAILER_BYTES_MAX = 16 * 1024;
export const TRAILER_COUNT_MAX = 16;

export type PayloadForm =
  | "signed" // hex sha256 of the body in x-amz-content-sha256
  | "unsigned" // UNSIGNED-PAYLOAD
  | "streaming-unsigned-trailer" // STREAMING-UNSIGNED-PAYLOAD-TRAILER
  | "streaming-signed" // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  | "streaming-signed-trailer"; // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER

/** What a request's body limits are: the operation's, not the client's (a PUT's 5 GiB, an XML body's few KiB). */
export interface PayloadLimits {
  /** Largest object accepted; default 5 GiB (S3's single PUT limit). */
  readonly bytesMax?: number;
  /** Refuse a plain body without Content-Length (MissingContentLength) instead of reading to its end. */
  readonly requireLength?: boolean;
  /**
   * Compute CRC32 even when the client sent no checksum (default true). CRC32 is native and fast, but it
   * costs about a fifth of the single-core decode rate; the router's object writes turn it off, since they
   * store only the checksum the client used or asked for (measured: 3.5 % of the router's CPU on a 64 MiB PUT).
   * With it off, an undeclared CRC32 trailer is not checked, like any other algorithm not computed.
   */
  readonly crc32Always?: boolean;
}

export interface PayloadOptions extends PayloadLimits {
  readonly headers: RequestHeaders;
  readonly auth?: SigV4Auth | undefined;
}

export interface PayloadSummary {
  readonly form: PayloadForm;
  readonly bytesTotal: number;
  /** MD5 of the object bytes, hex: the ETag of a single-part object. */
  readonly md5Hex: string;
  /** CRC32 of the object bytes, base64 (undefined only when crc32Always was false and no CRC32 was asked for). */
  readonly crc32Base64: string | undefined;
  /** Every checksum computed (CRC32 unless turned off; plus the one the client named), base64. */
  readonly checksums: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
  /** The checksum algorithm the client used or asked for, if any (to store and return). */
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
  /** True when a client-supplied checksum value (header or trailer) was compared and matched. */
  readonly checksumVerified: boolean;
  /** Trailer fields received after an aws-chunked body (names lower-case). */
  readonly trailers: Readonly<Record<string, string>>;
}

export type PayloadResult = { readonly ok: true; readonly value: PayloadSummary } | { readonly ok: false; readonly error: S3Error };

export interface DecodedPayload {
  readonly body: Readable;
  readonly form: PayloadForm;
  /** Object size announced by the headers, when known before the body. */
  readonly bytesDeclared: number | undefined;
  /** Content-Encoding to store, with aws-chunked removed (undefined when nothing is left). */
  readonly contentEncoding: string | undefined;
  readonly result: Promise<PayloadResult>;
}

export type DecodeStart = { readonly ok: true; readonly value: DecodedPayload } | { readonly ok: false; readonly error: S3Error };

/** Content-Encoding without "aws-chunked": "gzip,aws-chunked" → "gzip", "aws-chunked" → undefined. */
export function stripAwsChunked(contentEncoding: string | undefined): string | undefined {
  if (contentEncoding === undefined) return undefined;
  const kept = contentEncoding
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding.toLowerCase() !== "aws-chunked");
  return kept.length === 0 ? undefined : kept.join(",");
}

function formOf(payloadHash: string): PayloadForm {
  switch (payloadHash) {
    case UNSIGNED_PAYLOAD:
      return "unsigned";
    case STREAMING_UNSIGNED_PAYLOAD_TRAILER:
      return "streaming-unsigned-trailer";
    case STREAMING_SIGNED_PAYLOAD:
      return "streaming-signed";
    case STREAMING_SIGNED_PAYLOAD_TRAILER:
      return "streaming-signed-trailer";
    default:
      return "signed";
  }
}

const DECIMAL = /^\d{1,16}$/;

// ---------------------------------------------------------------------------------------------------
// Plan: everything the headers say of the body, decided once, before the first byte (the router does it
// when it dispatches a request, and its handler receives the plan: runtime/router/app.ts).

export interface PayloadPlan {
  readonly form: PayloadForm;
  readonly chunked: boolean;
  /** Object size announced by the headers (Content-Length, or x-amz-decoded-content-length when aws-chunked). */
  readonly bytesDeclared: number | undefined;
  readonly sha256Expected: string | undefined;
  readonly md5Expected: string | undefined;
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
  readonly checksumExpected: string | undefined;
  readonly trailerExpected: string | undefined; // lower-case trailer name declared in x-amz-trailer
  readonly auth: SigV4Auth | undefined;
  /** Content-Encoding to store, with aws-chunked removed (undefined when nothing is left). */
  readonly contentEncoding: string | undefined;
}

/** The plan with one operation's limits: what the decoder runs on. */
interface Plan extends PayloadPlan {
  readonly bytesMax: number;
  readonly crc32: boolean;
}

/** What the headers say of the body, checked: any error the headers alone reveal comes back before a byte is read. */
export function planPayload(headers: RequestHeaders, auth: SigV4Auth | undefined): PayloadPlan | S3Error {
  const headerHash = headerText(headers["x-amz-content-sha256"])?.trim();
  // The hash the signature covers wins: the header's for header auth, the query's X-Amz-Content-Sha256 for a
  // presigned URL that signed one (its holder may send only that body). An unsigned header hash is still checked.
  const signedHash = auth === undefined ? undefined : !auth.presigned || auth.payloadHash !== UNSIGNED_PAYLOAD ? auth.payloadHash : undefined;
  const payloadHash = signedHash ?? headerHash ?? UNSIGNED_PAYLOAD;
  if (signedHash !== undefined && auth?.presigned && headerHash !== undefined && headerHash !== signedHash) {
    return new S3Error("XAmzContentSHA256Mismatch", undefined, { extra: { ClientComputedContentSHA256: headerHash.slice(0, 64), S3ComputedContentSHA256: signedHash } });
  }
  const form = formOf(payloadHash);
  if (form === "signed" && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    return new S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or a valid sha256 value.");
  }
  const chunked = form.startsWith("streaming-");
  if ((form === "streaming-signed" || form === "streaming-signed-trailer") && (auth === undefined || auth.presigned)) {
    return new S3Error("InvalidRequest", "A signed aws-chunked body needs an Authorization header signature.");
  }

  let bytesDeclared: number | undefined;
  if (chunked) {
    const decoded = headerText(headers["x-amz-decoded-content-length"])?.trim();
    if (decoded === undefined) return new S3Error("MissingContentLength", "You must provide the x-amz-decoded-content-length header with an aws-chunked body.");
    if (!DECIMAL.test(decoded)) return new S3Error("InvalidArgument", "x-amz-decoded-content-length is not a number.");
    bytesDeclared = Number(decoded);
  } else {
    const length = headerText(headers["content-length"])?.trim();
    if (length !== undefined) {
      if (!DECIMAL.test(length)) return new S3Error("InvalidArgument", "Content-Length is not a number.");
      bytesDeclared = Number(length);
    }
  }

  let md5Expected: string | undefined;
  const contentMd5 = headerText(headers["content-md5"])?.trim();
  if (contentMd5 !== undefined) {
    const bytes = Buffer.from(contentMd5, "base64");
    if (bytes.length !== 16 || bytes.toString("base64") !== contentMd5) return new S3Error("InvalidDigest");
    md5Expected = bytes.toString("hex");
  }

  // At most one x-amz-checksum-<algorithm> header; its value is verified at the end.
  let checksumAlgorithm: ChecksumAlgorithm | undefined;
  let checksumExpected: string | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headerText(headers[checksumHeaderName(algorithm)])?.trim();
    if (value === undefined) continue;
    if (checksumAlgorithm !== undefined) return new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    if (!isChecksumValue(algorithm, value)) return new S3Error("InvalidRequest", `Value for ${checksumHeaderName(algorithm)} header is invalid.`);
    checksumAlgorithm = algorithm;
    checksumExpected = value;
  }

  let trailerExpected: string | undefined;
  const trailerHeader = headerText(headers["x-amz-trailer"])?.trim().toLowerCase();
  if (trailerHeader !== undefined && trailerHeader !== "") {
    if (form !== "streaming-unsigned-trailer" && form !== "streaming-signed-trailer") {
      return new S3Error("InvalidRequest", "x-amz-trailer needs x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.");
    }
    const algorithm = trailerHeader.startsWith("x-amz-checksum-") ? checksumAlgorithmOf(trailerHeader.slice("x-amz-checksum-".length)) : undefined;
    if (algorithm === undefined) return new S3Error("InvalidRequest", `The value specified in the x-amz-trailer header is not supported: ${trailerHeader.slice(0, 64)}`);
    if (checksumAlgorithm !== undefined && checksumAlgorithm !== algorithm) {
      return new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    }
    checksumAlgorithm = algorithm;
    trailerExpected = trailerHeader;
  }

  if (checksumAlgorithm === undefined) {
    const sdkAlgorithm = headerText(headers["x-amz-sdk-checksum-algorithm"]);
    if (sdkAlgorithm !== undefined) {
      checksumAlgorithm = checksumAlgorithmOf(sdkAlgorithm);
      if (checksumAlgorithm === undefined) return new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported.");
    }
  }

  return {
    form,
    chunked,
    bytesDeclared,
    sha256Expected: form === "signed" ? payloadHash : undefined,
    md5Expected,
    checksumAlgorithm,
    checksumExpected,
    trailerExpected,
    auth,
    contentEncoding: stripAwsChunked(headerText(headers["content-encoding"])),
  };
}

/** The plan under one operation's limits, or the error its declared size earns before any byte is read. */
function withLimits(plan: PayloadPlan, limits: PayloadLimits): Plan | S3Error {
  const bytesMax = limits.bytesMax ?? OBJECT_BYTES_MAX_DEFAULT;
  if (plan.bytesDeclared === undefined && limits.requireLength === true) return new S3Error("MissingContentLength");
  if (plan.bytesDeclared !== undefined && plan.bytesDeclared > bytesMax) {
    return new S3Error("EntityTooLarge", undefined, { extra: { ProposedSize: String(plan.bytesDeclared), MaxSizeAllowed: String(bytesMax) } });
  }
  return { ...plan, bytesMax, crc32: limits.crc32Always !== false || plan.checksumAlgorithm === "CRC32" };
}

// ---------------------------------------------------------------------------------------------------
// The decoder: a Transform from the received body to the object bytes.

type FrameState = "size-line" | "data" | "data-crlf" | "trailer" | "done";

const CR = 0x0d;
const LF = 0x0a;
const CHUNK_SIZE_SHAPE = /^[0-9a-fA-F]{1,16}$/;
const TRAILER_LINE_SHAPE = /^([A-Za-z0-9-]+):(.*)$/;

function framingError(message: string): S3Error {
  return new S3Error("InvalidRequest", `Malformed aws-chunked body: ${message}`);
}

class PayloadDecoder extends Transform {
  private readonly plan: Plan;
  private readonly md5: Hash = createHash("md5");
  private readonly sha256: Hash | undefined;
  private readonly crc32: Checksummer | undefined;
  private readonly checksummer: Checksummer | undefined;
  private bytesTotal = 0;
  private settled = false;
  private settle!: (result: PayloadResult) => void;
  readonly result: Promise<PayloadResult>;

  // aws-chunked framing state
  private state: FrameState = "size-line";
  private readonly lineParts: Buffer[] = [];
  private lineBytes = 0;
  private dataRemaining = 0;
  private crlfSeen = 0;
  private chunkHash: Hash | undefined;
  private chunkSignatureProvided = "";
  private previousSignature: string;
  private readonly trailers = new Map<string, string>();
  private trailerText = "";
  private trailerBytes = 0;
  private trailerSignatureProvided: string | undefined;
  private trailerBlankSkipped = false;
  private readonly signedChunks: boolean;

  constructor(plan: Plan) {
    super();
    this.plan = plan;
    this.sha256 = plan.sha256Expected !== undefined ? createHash("sha256") : undefined;
    this.crc32 = plan.crc32 ? new Checksummer("CRC32") : undefined;
    this.checksummer = plan.checksumAlgorithm !== undefined && plan.checksumAlgorithm !== "CRC32" ? new Checksummer(plan.checksumAlgorithm) : undefined;
    this.signedChunks = plan.form === "streaming-signed" || plan.form === "streaming-signed-trailer";
    this.previousSignature = plan.auth?.signature ?? "";
    this.result = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.once("close", () => {
      // Destroyed by the consumer (or by an error already settled): never leave the promise pending.
      this.finishWith({ ok: false, error: new S3Error("InternalError", "The request body stream was closed before it was verified.") });
    });
  }

  private finishWith(result: PayloadResult): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(result);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error !== null) this.finishWith({ ok: false, error: error instanceof S3Error ? error : new S3Error("InternalError", undefined, { cause: error }) });
    callback(error);
  }

  /** Object bytes: counted, hashed in one pass, passed on without copying. */
  private emitData(data: Buffer): S3Error | undefined {
    this.bytesTotal += data.length;
    if (this.bytesTotal > this.plan.bytesMax) {
      return new S3Error("EntityTooLarge", undefined, { extra: { MaxSizeAllowed: String(this.plan.bytesMax) } });
    }
    if (this.plan.bytesDeclared !== undefined && this.bytesTotal > this.plan.bytesDeclared) {
      return this.plan.chunked
        ? framingError("more data than x-amz-decoded-content-length")
        : new S3Error("InvalidRequest", "The request body is longer than Content-Length.");
    }
    this.md5.update(data);
    this.crc32?.update(data);
    this.sha256?.update(data);
    this.checksummer?.update(data);
    this.chunkHash?.update(data);
    this.push(data);
    return undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const error = this.plan.chunked ? this.consumeFramed(chunk) : this.emitData(chunk);
    callback(error);
  }

  // --- aws-chunked ------------------------------------------------------------------------------------

  /** Reads up to and including LF; returns the line without CRLF, or undefined when more input is needed. */
  private takeLine(buffer: Buffer, offset: number, bytesMax: number): { line: string; next: number } | { error: S3Error } | undefined {
    const newline = buffer.indexOf(LF, offset);
    const end = newline < 0 ? buffer.length : newline;
    this.lineBytes += end - offset;
    if (this.lineBytes > bytesMax) return { error: framingError("a chunk header or trailer line is too long") };
    if (newline < 0) {
      if (end > offset) this.lineParts.push(buffer.subarray(offset, end));
      return undefined;
    }
    let bytes: Buffer;
    if (this.lineParts.length === 0) bytes = buffer.subarray(offset, end);
    else {
      this.lineParts.push(buffer.subarray(offset, end));
      bytes = Buffer.concat(this.lineParts);
      this.lineParts.length = 0;
    }
    this.lineBytes = 0;
    if (bytes.length === 0 || bytes[bytes.length - 1] !== CR) return { error: framingError("a line does not end with CRLF") };
    return { line: bytes.toString("latin1", 0, bytes.length - 1), next: newline + 1 };
  }

  private consumeFramed(buffer: Buffer): S3Error | undefined {
    let offset = 0;
    while (offset < buffer.length) {
      switch (this.state) {
        case "size-line": {
          const taken = this.takeLine(buffer, offset, CHUNK_LINE_BYTES_MAX);
          if (taken === undefined) return undefined;
          if ("error" in taken) return taken.error;
          offset = taken.next;
          const error = this.startChunk(taken.line);
          if (error !== undefined) return error;
          break;
        }
        case "data": {
          const take = Math.min(this.dataRemaining, buffer.length - offset);
          const error = this.emitData(buffer.subarray(offset, offset + take));
          if (error !== undefined) return error;
          offset += take;
          this.dataRemaining -= take;
          if (this.dataRemaining === 0) {
            this.state = "data-crlf";
            this.crlfSeen = 0;
          }
          break;
        }
        case "data-crlf": {
          const expected = this.crlfSeen === 0 ? CR : LF;
          if (buffer[offset] !== expected) return framingError("chunk data is not followed by CRLF");
          offset++;
          this.crlfSeen++;
          if (this.crlfSeen === 2) {
            const error = this.endChunk();
            if (error !== undefined) return error;
            this.state = "size-line";
          }
          break;
        }
        case "trailer": {
          const taken = this.takeLine(buffer, offset, TRAILER_BYTES_MAX);
          if (taken === undefined) return undefined;
          if ("error" in taken) return taken.error;
          offset = taken.next;
          const error = this.trailerLine(taken.line);
          if (error !== undefined) return error;
          break;
        }
        case "done": {
          // Only stray line ends may follow the end of the framing.
          for (let i = offset; i < buffer.length; i++) {
            const byte = buffer[i];
            if (byte !== CR && byte !== LF) return framingError("data after the final chunk");
          }
          this.trailerBytes += buffer.length - offset;
          if (this.trailerBytes > TRAILER_BYTES_MAX) return framingError("data after the final chunk");
          return undefined;
        }
      }
    }
    return undefined;
  }

  private startChunk(line: string): S3Error | undefined {
    assert(this.plan.bytesDeclared !== undefined, "aws-chunked framing without a declared decoded length");
    const semicolon = line.indexOf(";");
    const sizeText = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
    if (!CHUNK_SIZE_SHAPE.test(sizeText)) return framingError("a chunk size is not hexadecimal");
    const size = parseInt(sizeText, 16);
    let signature: string | undefined;
    if (semicolon >= 0) {
      for (const extension of line.slice(semicolon + 1).split(";")) {
        const equals = extension.indexOf("=");
        if (equals > 0 && extension.slice(0, equals).trim() === "chunk-signature") signature = extension.slice(equals + 1).trim();
      }
    }
    if (this.signedChunks) {
      if (signature === undefined) return new S3Error("SignatureDoesNotMatch", "A chunk of a signed aws-chunked body has no chunk-signature.");
      this.chunkSignatureProvided = signature;
      this.chunkHash = createHash("sha256");
    }
    const declared = this.plan.bytesDeclared;
    if (this.bytesTotal + size > declared) return framingError("chunk sizes add up to more than x-amz-decoded-content-length");
    if (size === 0) {
      if (this.bytesTotal < declared) return new S3Error("IncompleteBody", "The aws-chunked body ended before x-amz-decoded-content-length bytes.");
      const error = this.endChunk();
      if (error !== undefined) return error;
      this.state = "trailer";
      return undefined;
    }
    this.dataRemaining = size;
    this.state = "data";
    return undefined;
  }

  private endChunk(): S3Error | undefined {
    if (!this.signedChunks) return undefined;
    const chunkSha256Hex = this.chunkHash!.digest("hex");
    this.chunkHash = undefined;
    const expected = chunkSignature(this.plan.auth!, this.previousSignature, chunkSha256Hex);
    if (!signaturesEqual(expected, this.chunkSignatureProvided)) {
      return new S3Error("SignatureDoesNotMatch", "The chunk signature we calculated does not match the chunk-signature you provided.");
    }
    this.previousSignature = expected;
    return undefined;
  }

  private trailerLine(line: string): S3Error | undefined {
    this.trailerBytes += line.length + 2;
    if (this.trailerBytes > TRAILER_BYTES_MAX) return framingError("the trailer is too long");
    if (line === "") {
      // Some signers put an empty line between the zero chunk and the trailer; skip it once.
      if (this.plan.trailerExpected !== undefined && this.trailers.size === 0 && !this.trailerBlankSkipped) {
        this.trailerBlankSkipped = true;
        return undefined;
      }
      this.state = "done";
      return undefined;
    }
    const match = TRAILER_LINE_SHAPE.exec(line);
    if (match === null) return framingError("a trailer line is not name:value");
    const name = match[1]!.toLowerCase();
    const value = match[2]!.trim();
    if (name === "x-amz-trailer-signature") {
      this.trailerSignatureProvided = value;
      return undefined;
    }
    if (this.trailers.size >= TRAILER_COUNT_MAX) return framingError("too many trailer fields");
    if (this.trailers.has(name)) return framingError(`trailer ${name} appears twice`);
    this.trailers.set(name, value);
    this.trailerText += `${name}:${value}\n`;
    return undefined;
  }

  // --- end of body -------------------------------------------------------------------------------------

  override _flush(callback: TransformCallback): void {
    const outcome = this.finalChecks();
    if (outcome instanceof S3Error) {
      callback(outcome);
      return;
    }
    this.finishWith({ ok: true, value: outcome });
    callback();
  }

  private finalChecks(): PayloadSummary | S3Error {
    const plan = this.plan;
    assert(this.bytesTotal <= plan.bytesMax, `passed on ${this.bytesTotal} bytes, over the limit of ${plan.bytesMax}`);
    assert(plan.bytesDeclared === undefined || this.bytesTotal <= plan.bytesDeclared, "passed on more bytes than declared");
    if (plan.chunked) {
      // A trailer section that ends at the end of the body (no final empty line) is accepted.
      const trailerEndedByEof = this.state === "trailer" && this.lineBytes === 0 && (this.trailers.size > 0 || this.trailerBlankSkipped);
      if (this.state !== "done" && !trailerEndedByEof) {
        return new S3Error("IncompleteBody", "The aws-chunked body ended before its final chunk.");
      }
    }
    if (plan.bytesDeclared !== undefined && this.bytesTotal !== plan.bytesDeclared) {
      return new S3Error("IncompleteBody", undefined, { extra: { ExpectedBytes: String(plan.bytesDeclared), ReceivedBytes: String(this.bytesTotal) } });
    }
    if (this.sha256 !== undefined && this.sha256.digest("hex") !== plan.sha256Expected) {
      return new S3Error("XAmzContentSHA256Mismatch", undefined, { extra: { ClientComputedContentSHA256: plan.sha256Expected! } });
    }

    let checksumExpected = plan.checksumExpected;
    if (plan.trailerExpected !== undefined) {
      if (plan.form === "streaming-signed-trailer") {
        if (this.trailerSignatureProvided === undefined) return new S3Error("SignatureDoesNotMatch", "The trailer has no x-amz-trailer-signature.");
        const expected = trailerSignature(plan.auth!, this.previousSignature, this.trailerText);
        if (!signaturesEqual(expected, this.trailerSignatureProvided)) {
          return new S3Error("SignatureDoesNotMatch", "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.");
        }
      }
      const trailerValue = this.trailers.get(plan.trailerExpected);
      if (trailerValue === undefined) return new S3Error("InvalidRequest", `The trailer ${plan.trailerExpected} declared in x-amz-trailer was not sent.`);
      if (!isChecksumValue(plan.checksumAlgorithm!, trailerValue)) return new S3Error("InvalidRequest", `Value for ${plan.trailerExpected} trailing header is invalid.`);
      if (checksumExpected !== undefined && checksumExpected !== trailerValue) {
        return new S3Error("BadDigest", `The ${plan.trailerExpected} header and trailer differ.`);
      }
      checksumExpected = trailerValue;
    }

    const md5Hex = this.md5.digest("hex");
    if (plan.md5Expected !== undefined && md5Hex !== plan.md5Expected) {
      return new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", {
        extra: { ExpectedDigest: Buffer.from(plan.md5Expected, "hex").toString("base64"), CalculatedDigest: Buffer.from(md5Hex, "hex").toString("base64") },
      });
    }
    const crc32Base64 = this.crc32?.digestBase64();
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = crc32Base64 === undefined ? {} : { CRC32: crc32Base64 };
    if (this.checksummer !== undefined) checksums[this.checksummer.algorithm] = this.checksummer.digestBase64();
    let checksumVerified = false;
    // A checksum trailer the client sent without declaring it in x-amz-trailer is still checked when we
    // computed that algorithm (never ignored silently when we could tell it is wrong).
    for (const [name, value] of this.trailers) {
      if (name === plan.trailerExpected || !name.startsWith("x-amz-checksum-")) continue;
      const algorithm = checksumAlgorithmOf(name.slice("x-amz-checksum-".length));
      const computed = algorithm === undefined ? undefined : checksums[algorithm];
      if (computed !== undefined && computed !== value) return new S3Error("BadDigest", `The ${algorithm} you specified did not match the calculated checksum.`);
    }
    if (checksumExpected !== undefined) {
      const algorithm = plan.checksumAlgorithm!;
      if (checksums[algorithm] !== checksumExpected) {
        return new S3Error("BadDigest", `The ${algorithm} you specified did not match the calculated checksum.`);
      }
      checksumVerified = true;
    }
    return {
      form: plan.form,
      bytesTotal: this.bytesTotal,
      md5Hex,
      crc32Base64,
      checksums,
      checksumAlgorithm: plan.checksumAlgorithm,
      checksumVerified,
      trailers: Object.fromEntries(this.trailers),
    };
  }
}

// ---------------------------------------------------------------------------------------------------

/**
 * Starts decoding `source` (an IncomingMessage, or any Readable of the received body).
 * Returns an error at once when the headers alone are invalid; otherwise the decoded body and the result.
 */
export function decodePayload(source: Readable, options: PayloadOptions): DecodeStart {
  const plan = planPayload(options.headers, options.auth);
  if (plan instanceof S3Error) return { ok: false, error: plan };
  return decodePlanned(source, plan, options);
}

/** decodePayload for a request whose headers were planned already (planPayload), under an operation's limits. */
export function decodePlanned(source: Readable, planned: PayloadPlan, limits: PayloadLimits): DecodeStart {
  const plan = withLimits(planned, limits);
  if (plan instanceof S3Error) return { ok: false, error: plan };
  const decoder = new PayloadDecoder(plan);

  let sourceEnded = false;
  const stopSource = (): void => {
    source.unpipe(decoder);
    // Drain what is left so the caller can still answer on this connection.
    if (!source.destroyed) source.resume();
  };
  const sourceFailed = (): void => {
    if (sourceEnded || decoder.destroyed) return;
    decoder.destroy(new S3Error("IncompleteBody", "The connection closed before the whole request body arrived."));
  };
  source.once("end", () => {
    sourceEnded = true;
  });
  source.once("error", sourceFailed);
  source.once("aborted", sourceFailed); // IncomingMessage, client went away
  source.once("close", sourceFailed); // closed without 'end'
  decoder.once("error", stopSource);
  source.pipe(decoder);

  return {
    ok: true,
    value: {
      body: decoder,
      form: plan.form,
      bytesDeclared: plan.bytesDeclared,
      contentEncoding: plan.contentEncoding,
      result: decoder.result,
    },
  };
}

/** Reads a whole (small) body into memory; rejects with `tooLargeCode` beyond bytesMax. */
export async function collectBody(body: Readable, bytesMax: number, tooLargeCode: "EntityTooLarge" | "MaxMessageLengthExceeded" | "MalformedXML" = "MaxMessageLengthExceeded"): Promise<Buffer> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const part of body) {
    const buffer = part as Buffer;
    bytes += buffer.length;
    if (bytes > bytesMax) {
      body.destroy();
      throw new S3Error(tooLargeCode, undefined, { extra: { MaxSizeAllowed: String(bytesMax) } });
    }
    parts.push(buffer);
  }
  return Buffer.concat(parts, bytes);
}
