// Signing of internal requests between ringstore processes with the cluster secret (HMAC-SHA256).
// Guarantees: a request verifies only if it carries a signature, made with the same secret, over its method,
// path and query, timestamp, the SHA-256 of its body (or the marker UNSIGNED-PAYLOAD for streamed bodies,
// whose integrity the xxhash64 checksums guard instead), and its request-meta header; signatures are
// compared in constant time; a timestamp more than `windowMs` (5 minutes) from the verifier's clock is refused.
// The verifier needs headers only, so a bad request is refused before its body is read.
// Assumes: the secret is shared by every process of one cluster, at least 16 bytes. Within the window a
// captured request can be replayed; the internal API is idempotent per version stamp, which bounds the harm.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { assert } from "../../core/assert.ts";
import { type Result, err, ok } from "../../core/result.ts";

export const SIGNATURE_HEADER = "x-ringstore-signature";
export const TIMESTAMP_HEADER = "x-ringstore-timestamp";
export const CONTENT_SHA256_HEADER = "x-ringstore-content-sha256";
/** Request parameters that travel in a header (base64url JSON) rather than a body: covered by the signature. */
export const REQUEST_META_HEADER = "x-ringstore-request";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const SIGNATURE_WINDOW_MS = 5 * 60 * 1000;
const SCHEME = "RINGSTORE-HMAC-SHA256";

export interface SignedRequest {
  readonly method: string;
  /** Path and query exactly as sent, e.g. "/v1/objects?x=1". */
  readonly pathAndQuery: string;
  readonly timestampMs: number;
  /** Hex SHA-256 of the body, or UNSIGNED_PAYLOAD. */
  readonly contentSha256: string;
  /** The REQUEST_META_HEADER value, or "" when there is none. */
  readonly requestMeta: string;
}

export const sha256Hex = (bytes: string | Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

export const EMPTY_BODY_SHA256 = sha256Hex("");

export function assertUsableSecret(secret: string): void {
  assert(Buffer.byteLength(secret) >= 16, "the cluster secret must be at least 16 bytes");
}

function stringToSign(request: SignedRequest): string {
  return [SCHEME, request.method.toUpperCase(), request.pathAndQuery, String(request.timestampMs), request.contentSha256, request.requestMeta].join("\n");
}

export function signatureOf(secret: string, request: SignedRequest): string {
  return createHmac("sha256", secret).update(stringToSign(request)).digest("hex");
}

/** The headers that authenticate a request; merge them into the request's own headers. */
export function signingHeaders(secret: string, request: SignedRequest): Record<string, string> {
  assert(Number.isSafeInteger(request.timestampMs), "timestamp must be integer milliseconds");
  return {
    [TIMESTAMP_HEADER]: String(request.timestampMs),
    [CONTENT_SHA256_HEADER]: request.contentSha256,
    [SIGNATURE_HEADER]: signatureOf(secret, request),
  };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly pathAndQuery: string;
  readonly header: (name: string) => string | undefined;
}

/** Verifies a received request's signature from its headers alone; returns the content hash it vouches for. */
export function verifySignature(
  secret: string,
  request: ReceivedRequest,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
): Result<{ contentSha256: string }, string> {
  const signature = request.header(SIGNATURE_HEADER);
  const timestamp = request.header(TIMESTAMP_HEADER);
  const contentSha256 = request.header(CONTENT_SHA256_HEADER);
  if (signature === undefined || timestamp === undefined || contentSha256 === undefined) return err("missing signature headers");
  if (!/^[0-9]{1,16}$/.test(timestamp)) return err("malformed timestamp");
  const timestampMs = Number(timestamp);
  if (Math.abs(nowMs - timestampMs) > windowMs) return err(`timestamp ${timestampMs} outside the ${windowMs} ms window around ${nowMs}`);
  if (!/^[0-9a-f]{64}$/.test(signature)) return err("malformed signature");
  const expected = signatureOf(secret, {
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    timestampMs,
    contentSha256,
    requestMeta: request.header(REQUEST_META_HEADER) ?? "",
  });
  const matches = timingSafeEqual(Buffer.from(signature, "hex"), Buffer.from(expected, "hex"));
  return matches ? ok({ contentSha256 }) : err("signature does not verify");
}
