import { describe, expect, it } from "vitest";
import { createReplicaApp } from "../../runtime/transport/http-server.ts";
import { createHttpTransport } from "../../runtime/transport/http-transport.ts";
import { CONTENT_SHA256_HEADER, REQUEST_META_HEADER, SIGNATURE_HEADER, SIGNATURE_WINDOW_MS, TIMESTAMP_HEADER, sha256Hex, signingHeaders, verifySignature } from "../../runtime/transport/hmac.ts";

const SECRET = "hmac-test-secret-0123456789";
const NOW = 1_760_000_000_000;

function signed(overrides: Partial<{ method: string; pathAndQuery: string; timestampMs: number; contentSha256: string; requestMeta: string }> = {}) {
  const request = { method: "POST", pathAndQuery: "/v1/head", timestampMs: NOW, contentSha256: sha256Hex("{}"), requestMeta: "", ...overrides };
  const headers: Record<string, string> = { ...signingHeaders(SECRET, request), ...(request.requestMeta ? { [REQUEST_META_HEADER]: request.requestMeta } : {}) };
  return { request, headers };
}

const verify = (method: string, pathAndQuery: string, headers: Record<string, string>, nowMs = NOW, secret = SECRET) =>
  verifySignature(secret, { method, pathAndQuery, header: (name) => headers[name] }, nowMs);

describe("request signing", () => {
  it("verifies a request signed with the same secret and returns the content hash it covers", () => {
    const { headers } = signed({ requestMeta: "eyJhIjoxfQ" });
    expect(verify("POST", "/v1/head", headers)).toEqual({ ok: true, value: { contentSha256: sha256Hex("{}") } });
  });

  it("refuses a request whose method, path, timestamp, content hash or meta header changed after signing", () => {
    const { headers } = signed({ requestMeta: "eyJhIjoxfQ" });
    expect(verify("PUT", "/v1/head", headers).ok).toBe(false);
    expect(verify("POST", "/v1/drop", headers).ok).toBe(false);
    expect(verify("POST", "/v1/head", { ...headers, [TIMESTAMP_HEADER]: String(NOW + 1) }).ok).toBe(false);
    expect(verify("POST", "/v1/head", { ...headers, [CONTENT_SHA256_HEADER]: sha256Hex("{ }") }).ok).toBe(false);
    expect(verify("POST", "/v1/head", { ...headers, [REQUEST_META_HEADER]: "eyJhIjoyfQ" }).ok).toBe(false);
  });

  it("refuses a wrong secret, a missing or malformed signature, and a timestamp outside the 5-minute window", () => {
    const { headers } = signed();
    expect(verify("POST", "/v1/head", headers, NOW, "another-secret-0123456789").ok).toBe(false);
    const { [SIGNATURE_HEADER]: _dropped, ...unsigned } = headers;
    expect(verify("POST", "/v1/head", unsigned).ok).toBe(false);
    expect(verify("POST", "/v1/head", { ...headers, [SIGNATURE_HEADER]: "zz" }).ok).toBe(false);
    expect(verify("POST", "/v1/head", headers, NOW + SIGNATURE_WINDOW_MS).ok).toBe(true);
    expect(verify("POST", "/v1/head", headers, NOW + SIGNATURE_WINDOW_MS + 1).ok).toBe(false);
    expect(verify("POST", "/v1/head", headers, NOW - SIGNATURE_WINDOW_MS - 1).ok).toBe(false);
  });

  it("refuses to build a transport or a server with a cluster secret shorter than 16 bytes", () => {
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    expect(() => createHttpTransport({ resolveAddress: () => undefined, secret: "short", timeoutMs: 100, log })).toThrow(/16 bytes/);
    expect(() => createReplicaApp({ secret: "short", handle: (() => {}) as never, log })).toThrow(/16 bytes/);
  });
});
