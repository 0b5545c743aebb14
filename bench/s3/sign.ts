// SigV4 header signing for the load generator, on the same canonical-request code the router verifies with
// (runtime/s3/sigv4.ts), so a request signed here is signed the way the server checks it.
// Bodies are never hashed: every request says UNSIGNED-PAYLOAD, so signing costs two HMACs and one SHA-256
// of a few hundred bytes, whatever the object size.
import { SIGV4_ALGORITHM, UNSIGNED_PAYLOAD, canonicalRequest, formatAmzDate, hmacSha256, signingKeyFor, stringToSign } from "../../runtime/s3/sigv4.ts";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export interface RequestToSign {
  readonly method: string;
  /** host[:port] as the request will send it. */
  readonly host: string;
  /** Already percent-encoded path, e.g. "/bench/obj-1". */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Extra headers to send and sign (lower-case names), e.g. range, content-length. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The headers to send: the request's own plus host, x-amz-date, x-amz-content-sha256 and authorization. */
export function signedHeaders(credentials: Credentials, request: RequestToSign, nowMs: number): Record<string, string> {
  const amzDate = formatAmzDate(nowMs);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...request.headers, host: request.host, "x-amz-date": amzDate, "x-amz-content-sha256": UNSIGNED_PAYLOAD };
  const names = Object.keys(headers).sort();
  const scope = `${date}/${credentials.region}/s3/aws4_request`;
  const canonical = canonicalRequest({ method: request.method, rawPath: request.rawPath, rawQuery: request.rawQuery, headers }, names, UNSIGNED_PAYLOAD);
  const signature = hmacSha256(signingKeyFor(credentials.secretAccessKey, date, credentials.region), stringToSign(amzDate, scope, canonical)).toString("hex");
  headers.authorization = `${SIGV4_ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  // undici sets host itself from the origin; sending it twice would be a malformed request.
  delete headers.host;
  return headers;
}
