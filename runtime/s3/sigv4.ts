// AWS Signature Version 4 verification for S3 requests (Authorization header and presigned query URLs).
// Guarantees: verifySigV4 returns ok only when the request carries an AWS4-HMAC-SHA256 signature that
// matches, under the secret of a known access key, the canonical request rebuilt from exactly what the
// server received (method, raw path, raw query, the signed headers, the payload hash value), and the
// request time is within 15 minutes of nowMs (or, presigned, not expired). Signatures are compared in
// constant time. Every failure is an S3Error with the code AWS uses.
// It does NOT check the body: the payload hash in x-amz-content-sha256 (or the chunk signatures of a
// STREAMING-* body) is verified while the body streams, by payload.ts, using the signing key returned here.
// Canonicalisation follows S3 (not the generic SigV4 rules): the path is not normalised and not
// double-encoded; each path segment and query component is percent-decoded to bytes and re-encoded
// with the RFC 3986 unreserved set, so a client's choice of which characters to escape does not matter.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { S3Error } from "./errors.ts";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
export const CLOCK_SKEW_MS_MAX = 15 * 60 * 1000;
export const PRESIGNED_EXPIRES_SECONDS_MAX = 7 * 24 * 60 * 60;
export const EMPTY_SHA256_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
export const STREAMING_SIGNED_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const STREAMING_SIGNED_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

const AUTHORIZATION_LENGTH_MAX = 4096;
const SIGNED_HEADER_COUNT_MAX = 64;
const QUERY_PARAMETER_COUNT_MAX = 256;
const SIGNING_KEY_CACHE_ENTRIES_MAX = 1024;

export type HeaderValue = string | readonly string[] | undefined;
/** Request headers with lower-case names, as node:http's IncomingMessage.headers gives them. */
export type RequestHeaders = Readonly<Record<string, HeaderValue>>;

/** The secret for an access key, or undefined when the key is unknown. */
export type SecretLookup = (accessKey: string) => string | undefined | Promise<string | undefined>;

export interface SigV4Request {
  readonly method: string;
  /** The path exactly as received, before any decoding (IncomingMessage.url up to '?'). */
  readonly rawPath: string;
  /** The query string exactly as received, without the '?' ("" when none). */
  readonly rawQuery: string;
  readonly headers: RequestHeaders;
}

export interface SigV4Options {
  readonly lookupSecret: SecretLookup;
  readonly nowMs: number;
  /** Regions a credential scope may name; undefined accepts any region. */
  readonly regionsAllowed?: readonly string[];
}

export interface SigV4Auth {
  readonly accessKey: string;
  /** kSigning = HMAC chain over date, region, "s3", "aws4_request": signs chunk and trailer signatures. */
  readonly signingKey: Buffer;
  /** "yyyymmdd/region/s3/aws4_request" */
  readonly scope: string;
  readonly region: string;
  /** The request time as signed, "yyyymmddThhmmssZ". */
  readonly amzDate: string;
  /** The request signature (hex): the seed signature of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body. */
  readonly signature: string;
  /** The payload hash that was signed: hex sha256, UNSIGNED-PAYLOAD or a STREAMING-* value. */
  readonly payloadHash: string;
  readonly presigned: boolean;
  readonly signedHeaders: readonly string[];
}

export type SigV4Result = { readonly ok: true; readonly value: SigV4Auth } | { readonly ok: false; readonly error: S3Error };

const failure = (error: S3Error): SigV4Result => ({ ok: false, error });

// ---------------------------------------------------------------------------------------------------
// Canonical forms

const HEX_UPPER = "0123456789ABCDEF";
const UNRESERVED = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~") UNRESERVED[c.charCodeAt(0)] = 1;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Percent-decodes to bytes; a '%' not followed by two hex digits stays a literal '%'. */
function percentDecodeToBytes(text: string): Buffer {
  if (!text.includes("%")) return Buffer.from(text, "utf8");
  const raw = Buffer.from(text, "utf8");
  const out = Buffer.allocUnsafe(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === 0x25 && i + 2 < raw.length) {
      const high = hexValue(raw[i + 1]!);
      const low = hexValue(raw[i + 2]!);
      if (high >= 0 && low >= 0) {
        out[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** RFC 3986 encoding of bytes as SigV4 wants it: unreserved kept, everything else %XX upper-case. */
function percentEncodeBytes(bytes: Buffer, keepSlash: boolean): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (UNRESERVED[byte] === 1 || (keepSlash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += "%" + HEX_UPPER[byte >> 4]! + HEX_UPPER[byte & 15]!;
  }
  return out;
}

/** The canonical URI of an S3 request: each segment decoded and re-encoded once; no normalisation. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === "") return "/";
  return rawPath
    .split("/")
    .map((segment) => percentEncodeBytes(percentDecodeToBytes(segment), false))
    .join("/");
}

export interface QueryParameter {
  readonly name: string;
  readonly value: string;
}

/** Splits a raw query string into decoded parameters ('+' is a literal plus, as S3 reads it). */
export function parseRawQuery(rawQuery: string): QueryParameter[] {
  const parameters: QueryParameter[] = [];
  if (rawQuery === "") return parameters;
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? "" : part.slice(equals + 1);
    parameters.push({
      name: percentDecodeToBytes(name).toString("utf8"),
      value: percentDecodeToBytes(value).toString("utf8"),
    });
  }
  return parameters;
}

/** The canonical query string: components re-encoded, sorted by name then value; `exclude` left out. */
export function canonicalQuery(rawQuery: string, exclude?: string): string {
  if (rawQuery === "") return "";
  const encoded: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const rawName = equals < 0 ? part : part.slice(0, equals);
    const rawValue = equals < 0 ? "" : part.slice(equals + 1);
    const nameBytes = percentDecodeToBytes(rawName);
    if (exclude !== undefined && nameBytes.toString("utf8") === exclude) continue;
    encoded.push([percentEncodeBytes(nameBytes, false), percentEncodeBytes(percentDecodeToBytes(rawValue), false)]);
  }
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join("&");
}

export function headerText(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  return value.join(",");
}

/** Header value as SigV4 canonicalises it: trimmed, inner runs of spaces folded to one. */
function canonicalHeaderValue(value: HeaderValue): string {
  const text = headerText(value) ?? "";
  return text.trim().replace(/\s+/g, " ");
}

export function canonicalRequest(
  request: SigV4Request,
  signedHeaders: readonly string[],
  payloadHash: string,
  queryExclude?: string,
): string {
  let headers = "";
  for (const name of signedHeaders) headers += `${name}:${canonicalHeaderValue(request.headers[name])}\n`;
  return [
    request.method.toUpperCase(),
    canonicalUri(request.rawPath),
    canonicalQuery(request.rawQuery, queryExclude),
    headers,
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

// ---------------------------------------------------------------------------------------------------
// Signing keys, cached per (access key, secret, date, region): one derivation per key per day.

const signingKeyCache = new Map<string, Buffer>();

export function signingKeyFor(secret: string, date: string, region: string, service = "s3"): Buffer {
  const cacheKey = `${secret}\u0000${date}\u0000${region}\u0000${service}`;
  const cached = signingKeyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const dateKey = hmacSha256(`AWS4${secret}`, date);
  const regionKey = hmacSha256(dateKey, region);
  const serviceKey = hmacSha256(regionKey, service);
  const signingKey = hmacSha256(serviceKey, "aws4_request");
  if (signingKeyCache.size >= SIGNING_KEY_CACHE_ENTRIES_MAX) signingKeyCache.clear();
  signingKeyCache.set(cacheKey, signingKey);
  return signingKey;
}

/** Constant-time comparison of two lower-case hex signatures of 64 characters. */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(providedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(providedHex, "hex"));
}

// ---------------------------------------------------------------------------------------------------
// Parsing the two forms

interface ParsedAuth {
  readonly accessKey: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly payloadHash: string;
  readonly presigned: boolean;
  readonly expiresSeconds: number | undefined;
}

const AMZ_DATE_SHAPE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const PAYLOAD_HASH_SHAPE = /^[0-9a-f]{64}$/;
const PAYLOAD_HASH_LITERALS = new Set([
  UNSIGNED_PAYLOAD,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
]);

/** Milliseconds since the epoch of "yyyymmddThhmmssZ", or undefined when it is not such a date. */
export function parseAmzDate(text: string): number | undefined {
  const match = AMZ_DATE_SHAPE.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function malformed(message: string, extra?: Record<string, string>): S3Error {
  return new S3Error("AuthorizationHeaderMalformed", message, extra === undefined ? {} : { extra });
}

function parseCredential(
  credential: string,
  malformedError: (message: string) => S3Error,
): { accessKey: string; date: string; region: string; service: string; terminator: string } | S3Error {
  const parts = credential.split("/");
  if (parts.length !== 5) return malformedError(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  const [accessKey, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (accessKey === "" || !/^\d{8}$/.test(date) || region === "") {
    return malformedError(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  if (service !== "s3") return malformedError(`the Credential is mal-formed; incorrect service "${service}". This endpoint belongs to "s3".`);
  if (terminator !== "aws4_request") return malformedError(`the Credential is mal-formed; incorrect terminal "${terminator}". This endpoint uses "aws4_request".`);
  return { accessKey, date, region, service, terminator };
}

function parseSignedHeaders(text: string): string[] | undefined {
  const names = text.split(";");
  if (names.length === 0 || names.length > SIGNED_HEADER_COUNT_MAX) return undefined;
  for (const name of names) if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return undefined;
  return names;
}

function parseAuthorizationHeader(authorization: string, headers: RequestHeaders): ParsedAuth | S3Error {
  if (authorization.length > AUTHORIZATION_LENGTH_MAX) return malformed("The authorization header is too long.");
  const space = authorization.indexOf(" ");
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    return new S3Error("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
  }
  const fields = new Map<string, string>();
  for (const piece of authorization.slice(space + 1).split(",")) {
    const item = piece.trim();
    if (item === "") continue;
    const equals = item.indexOf("=");
    if (equals <= 0) return malformed(`the authorization component "${item}" is malformed.`);
    fields.set(item.slice(0, equals), item.slice(equals + 1));
  }
  const credential = fields.get("Credential");
  const signedHeadersText = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential === undefined || signedHeadersText === undefined || signature === undefined) {
    return malformed("The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.");
  }
  const scope = parseCredential(credential, (message) => malformed(`The authorization header is malformed; ${message}`));
  if (scope instanceof S3Error) return scope;
  const signedHeaders = parseSignedHeaders(signedHeadersText);
  if (signedHeaders === undefined) return malformed("The authorization header is malformed; SignedHeaders is invalid.");

  const amzDate = headerText(headers["x-amz-date"]);
  let amzDateText: string;
  if (amzDate !== undefined) {
    amzDateText = amzDate.trim();
  } else {
    // Without x-amz-date, SigV4 signs the Date header (RFC 1123); the scope still needs a compact form.
    const dateHeader = headerText(headers["date"]);
    const dateMs = dateHeader === undefined ? NaN : Date.parse(dateHeader);
    if (Number.isNaN(dateMs)) return new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    amzDateText = formatAmzDate(dateMs);
  }
  const payloadHash = headerText(headers["x-amz-content-sha256"]);
  if (payloadHash === undefined) {
    return new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  return {
    ...scope,
    signedHeaders,
    signature,
    amzDate: amzDateText,
    payloadHash: payloadHash.trim(),
    presigned: false,
    expiresSeconds: undefined,
  };
}

function parsePresignedQuery(parameters: readonly QueryParameter[]): ParsedAuth | S3Error {
  const query = new Map<string, string>();
  for (const parameter of parameters) if (!query.has(parameter.name)) query.set(parameter.name, parameter.value);
  const queryError = (message: string) => new S3Error("AuthorizationQueryParametersError", message);
  if (query.get("X-Amz-Algorithm") !== SIGV4_ALGORITHM) {
    return queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  const credential = query.get("X-Amz-Credential");
  const amzDate = query.get("X-Amz-Date");
  const expires = query.get("X-Amz-Expires");
  const signedHeadersText = query.get("X-Amz-SignedHeaders");
  const signature = query.get("X-Amz-Signature");
  if (credential === undefined || amzDate === undefined || expires === undefined || signedHeadersText === undefined || signature === undefined) {
    return queryError(
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  const scope = parseCredential(credential, (message) => queryError(`Error parsing the X-Amz-Credential parameter; ${message}`));
  if (scope instanceof S3Error) return scope;
  if (!/^\d{1,7}$/.test(expires)) return queryError("X-Amz-Expires should be a number");
  const expiresSeconds = Number(expires);
  if (expiresSeconds < 1) return queryError("X-Amz-Expires must be non-negative");
  // AWS's own wording (and code, 400 AuthorizationQueryParametersError) for a URL valid longer than SigV4 allows.
  if (expiresSeconds > PRESIGNED_EXPIRES_SECONDS_MAX) return queryError("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds");
  const signedHeaders = parseSignedHeaders(signedHeadersText);
  if (signedHeaders === undefined) return queryError("X-Amz-SignedHeaders is invalid.");
  return {
    ...scope,
    signedHeaders,
    signature,
    amzDate,
    payloadHash: query.get("X-Amz-Content-Sha256") ?? UNSIGNED_PAYLOAD,
    presigned: true,
    expiresSeconds,
  };
}

// ---------------------------------------------------------------------------------------------------
// Verification

/** True when the request carries any form of AWS authentication (header or presigned query). */
export function hasAuthentication(request: SigV4Request): boolean {
  return request.headers["authorization"] !== undefined || /(^|&)X-Amz-Algorithm=/.test(request.rawQuery);
}

export async function verifySigV4(request: SigV4Request, options: SigV4Options): Promise<SigV4Result> {
  const authorization = headerText(request.headers["authorization"]);
  const parameters = parseRawQuery(request.rawQuery);
  if (parameters.length > QUERY_PARAMETER_COUNT_MAX) return failure(new S3Error("InvalidArgument", "Too many query parameters."));
  const presignedAlgorithm = parameters.some((parameter) => parameter.name === "X-Amz-Algorithm");

  if (authorization !== undefined && presignedAlgorithm) {
    return failure(new S3Error("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"));
  }
  if (authorization === undefined && !presignedAlgorithm) return failure(new S3Error("AccessDenied", "Access Denied"));

  const parsed = authorization !== undefined ? parseAuthorizationHeader(authorization, request.headers) : parsePresignedQuery(parameters);
  if (parsed instanceof S3Error) return failure(parsed);

  if (!PAYLOAD_HASH_SHAPE.test(parsed.payloadHash) && !PAYLOAD_HASH_LITERALS.has(parsed.payloadHash)) {
    if (parsed.payloadHash.startsWith("STREAMING-AWS4-ECDSA-P256-SHA256")) {
      return failure(new S3Error("NotImplemented", "SigV4a (AWS4-ECDSA-P256-SHA256) is not supported."));
    }
    return failure(new S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.", {
      extra: { ArgumentName: "x-amz-content-sha256", ArgumentValue: parsed.payloadHash.slice(0, 128) },
    }));
  }

  const requestMs = parseAmzDate(parsed.amzDate);
  if (requestMs === undefined) {
    return failure(parsed.presigned
      ? new S3Error("AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
      : new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"));
  }
  if (parsed.amzDate.slice(0, 8) !== parsed.date) {
    const message = `Invalid credential date "${parsed.date}". This date is not the same as X-Amz-Date: "${parsed.amzDate.slice(0, 8)}".`;
    return failure(parsed.presigned ? new S3Error("AuthorizationQueryParametersError", message) : malformed(`The authorization header is malformed; ${message}`));
  }
  if (options.regionsAllowed !== undefined && !options.regionsAllowed.includes(parsed.region)) {
    const expected = options.regionsAllowed[0] ?? "";
    return failure(malformed(`The authorization header is malformed; the region '${parsed.region}' is wrong; expecting '${expected}'`, { Region: expected }));
  }
  if (!parsed.signedHeaders.includes("host")) {
    return failure(parsed.presigned
      ? new S3Error("AuthorizationQueryParametersError", "X-Amz-SignedHeaders must include host")
      : malformed("The authorization header is malformed; SignedHeaders must include host."));
  }

  if (parsed.presigned) {
    if (options.nowMs < requestMs - CLOCK_SKEW_MS_MAX) return failure(new S3Error("AccessDenied", "Request is not valid yet"));
    if (options.nowMs > requestMs + parsed.expiresSeconds! * 1000) {
      return failure(new S3Error("AccessDenied", "Request has expired", {
        extra: {
          XAmzExpires: String(parsed.expiresSeconds),
          Expires: new Date(requestMs + parsed.expiresSeconds! * 1000).toISOString(),
          ServerTime: new Date(options.nowMs).toISOString(),
        },
      }));
    }
  } else if (Math.abs(options.nowMs - requestMs) > CLOCK_SKEW_MS_MAX) {
    return failure(new S3Error("RequestTimeTooSkewed", undefined, {
      extra: {
        RequestTime: parsed.amzDate,
        ServerTime: new Date(options.nowMs).toISOString(),
        MaxAllowedSkewMilliseconds: String(CLOCK_SKEW_MS_MAX),
      },
    }));
  }

  const secret = await options.lookupSecret(parsed.accessKey);
  if (secret === undefined) {
    return failure(new S3Error("InvalidAccessKeyId", undefined, { extra: { AWSAccessKeyId: parsed.accessKey } }));
  }

  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/${parsed.terminator}`;
  const canonical = canonicalRequest(request, parsed.signedHeaders, parsed.payloadHash, parsed.presigned ? "X-Amz-Signature" : undefined);
  const toSign = stringToSign(parsed.amzDate, scope, canonical);
  const signingKey = signingKeyFor(secret, parsed.date, parsed.region);
  const expected = createHmac("sha256", signingKey).update(toSign, "utf8").digest("hex");
  if (!signaturesEqual(expected, parsed.signature)) {
    return failure(new S3Error("SignatureDoesNotMatch", undefined, {
      extra: { AWSAccessKeyId: parsed.accessKey, StringToSign: toSign, SignatureProvided: parsed.signature.slice(0, 128), CanonicalRequest: canonical },
    }));
  }
  // A header the signature does not cover could change what the request does (a presigned PUT given an
  // x-amz-copy-source would copy another object into its key), so S3 refuses any unsigned x-amz-* header.
  // x-amz-content-sha256 alone may go unsigned: a presigned URL's payload hash is in its query.
  const unsigned = Object.keys(request.headers).filter((name) => name.startsWith("x-amz-") && name !== "x-amz-content-sha256" && !parsed.signedHeaders.includes(name));
  if (unsigned.length > 0) {
    return failure(new S3Error("AccessDenied", "There were headers present in the request which were not signed", { extra: { HeadersNotSigned: unsigned.join(", ") } }));
  }
  return {
    ok: true,
    value: {
      accessKey: parsed.accessKey,
      signingKey,
      scope,
      region: parsed.region,
      amzDate: parsed.amzDate,
      signature: expected,
      payloadHash: parsed.payloadHash,
      presigned: parsed.presigned,
      signedHeaders: parsed.signedHeaders,
    },
  };
}

/** Splits IncomingMessage.url ("/bucket/key?x=y") into the raw path and raw query. */
export function splitRequestUrl(url: string): { rawPath: string; rawQuery: string } {
  const question = url.indexOf("?");
  if (question < 0) return { rawPath: url, rawQuery: "" };
  return { rawPath: url.slice(0, question), rawQuery: url.slice(question + 1) };
}

// ---------------------------------------------------------------------------------------------------
// Chunk and trailer signatures (used by payload.ts while a STREAMING-AWS4-HMAC-SHA256-* body arrives)

/** Signature of one aws-chunked chunk, chained from the previous signature (the seed for the first). */
export function chunkSignature(auth: Pick<SigV4Auth, "signingKey" | "amzDate" | "scope">, previousSignature: string, chunkSha256Hex: string): string {
  const text = `AWS4-HMAC-SHA256-PAYLOAD\n${auth.amzDate}\n${auth.scope}\n${previousSignature}\n${EMPTY_SHA256_HEX}\n${chunkSha256Hex}`;
  return createHmac("sha256", auth.signingKey).update(text, "utf8").digest("hex");
}

/** Signature of the trailer chunk: `trailerText` is each trailer as "name:value\n", signature line excluded. */
export function trailerSignature(auth: Pick<SigV4Auth, "signingKey" | "amzDate" | "scope">, previousSignature: string, trailerText: string): string {
  const text = `AWS4-HMAC-SHA256-TRAILER\n${auth.amzDate}\n${auth.scope}\n${previousSignature}\n${sha256Hex(trailerText)}`;
  return createHmac("sha256", auth.signingKey).update(text, "utf8").digest("hex");
}
