// The front door of an S3 request: from node:http's IncomingMessage (Koa's ctx.req) to a verified
// identity and a decoded, verified body stream.
// Guarantees: ok only when the SigV4 signature matched (or the request is anonymous and anonymous access
// was allowed) and the body headers are acceptable; the returned body stream 'end's only if every body
// check passes (see payload.ts), and `payload.result` tells which check failed otherwise.
// Assumes: nothing has read from the request yet (no body parser ran before this).

import type { IncomingMessage } from "node:http";
import type { S3Error } from "./errors.ts";
import { decodePayload, type DecodedPayload } from "./payload.ts";
import { hasAuthentication, splitRequestUrl, verifySigV4, type SecretLookup, type SigV4Auth } from "./sigv4.ts";

export interface AcceptOptions {
  readonly lookupSecret: SecretLookup;
  readonly nowMs: number;
  readonly regionsAllowed?: readonly string[];
  /** Largest object body accepted (default 5 GiB). */
  readonly bytesMax?: number;
  readonly requireLength?: boolean;
  readonly crc32Always?: boolean;
  /** Let requests without any signature through with `auth` undefined (default: AccessDenied). */
  readonly allowAnonymous?: boolean;
}

export interface AcceptedRequest {
  readonly method: string;
  /** The path as received (percent-encoded); decode segments to get bucket and key. */
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly auth: SigV4Auth | undefined;
  readonly payload: DecodedPayload;
}

export type AcceptResult = { readonly ok: true; readonly value: AcceptedRequest } | { readonly ok: false; readonly error: S3Error };

/**
 * Verifies the signature and starts decoding the body. On failure the body is drained (resume()) so the
 * caller can answer with the error on the same connection.
 */
export async function acceptS3Request(request: IncomingMessage, options: AcceptOptions): Promise<AcceptResult> {
  const method = request.method ?? "GET";
  const { rawPath, rawQuery } = splitRequestUrl(request.url ?? "/");
  const signed = { method, rawPath, rawQuery, headers: request.headers };
  let auth: SigV4Auth | undefined;
  if (options.allowAnonymous === true && !hasAuthentication(signed)) {
    auth = undefined;
  } else {
    const verified = await verifySigV4(signed, options);
    if (!verified.ok) {
      request.resume();
      return verified;
    }
    auth = verified.value;
  }
  const payload = decodePayload(request, {
    headers: request.headers,
    auth,
    ...(options.bytesMax === undefined ? {} : { bytesMax: options.bytesMax }),
    ...(options.requireLength === undefined ? {} : { requireLength: options.requireLength }),
    ...(options.crc32Always === undefined ? {} : { crc32Always: options.crc32Always }),
  });
  if (!payload.ok) {
    request.resume();
    return payload;
  }
  return { ok: true, value: { method, rawPath, rawQuery, auth, payload: payload.value } };
}
