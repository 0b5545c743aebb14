// Raw S3 requests signed with the AWS SDK's own SigV4 signer, for what no SDK call sends on purpose:
// bodies that stop early, odd methods, hand-made headers.
import { createHash, createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

/** The hash constructor SignatureV4 wants: sha256, or HMAC-sha256 when given a secret. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData): string | Uint8Array =>
  typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

export class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

export interface RawTarget {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Bytes actually sent; `declaredLength` may promise more. */
  readonly body?: Buffer;
  readonly declaredLength?: number;
  /** Send the body in plain HTTP chunking, with no Content-Length. */
  readonly chunked?: boolean;
  /** Close the connection this long after the body was written, without sending the rest. */
  readonly abortAfterMs?: number;
}

export async function signedRawRequest(target: RawTarget, raw: RawRequest): Promise<{ status: number; body: string } | { aborted: true }> {
  const url = new URL(target.endpoint);
  const headers = await signedHeadersOf(target, raw);
  const body = raw.body ?? Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: raw.method, path: raw.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", (error) => (raw.abortAfterMs !== undefined ? resolve({ aborted: true }) : reject(error)));
    if (body.length > 0) req.write(body);
    // Node sends the headers only with the first body byte or end(): a request with no body must flush them.
    if (raw.abortAfterMs !== undefined) req.flushHeaders();
    if (raw.abortAfterMs !== undefined) setTimeout(() => req.destroy(), raw.abortAfterMs);
    else req.end();
  });
}

/** The headers of a request signed with SigV4 (UNSIGNED-PAYLOAD unless `headers` say otherwise). */
export async function signedHeadersOf(target: RawTarget, raw: RawRequest): Promise<Record<string, string>> {
  const url = new URL(target.endpoint);
  const body = raw.body ?? Buffer.alloc(0);
  const signer = new SignatureV4({
    service: "s3",
    region: "us-east-1",
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  // The signer takes the query as its own field; a "?" left in the path would be signed as part of it.
  const at = raw.path.indexOf("?");
  const query: Record<string, string> = {};
  if (at >= 0) for (const [name, value] of new URLSearchParams(raw.path.slice(at + 1))) query[name] = value;
  const signed = await signer.sign({
    method: raw.method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: at >= 0 ? raw.path.slice(0, at) : raw.path,
    query,
    headers: {
      host: url.host,
      ...(raw.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(raw.declaredLength ?? body.length) }),
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      ...raw.headers,
    },
  });
  return signed.headers as Record<string, string>;
}

/**
 * A SigV4 presigned URL, as @aws-sdk/s3-request-presigner makes them: the payload hash travels in the query
 * as X-Amz-Content-Sha256 (UNSIGNED-PAYLOAD unless a body's hash is given), and only `host` is signed.
 */
export async function presignV4(target: RawTarget, method: string, path: string, options: { payloadHash?: string; expiresInSeconds?: number } = {}): Promise<string> {
  const url = new URL(target.endpoint);
  const payloadHash = options.payloadHash ?? "UNSIGNED-PAYLOAD";
  const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey }, sha256: NodeSha256, uriEscapePath: false });
  const signed = await signer.presign(
    { method, protocol: "http:", hostname: url.hostname, port: Number(url.port), path, query: { "X-Amz-Content-Sha256": payloadHash }, headers: { host: url.host, "x-amz-content-sha256": payloadHash } },
    { expiresIn: options.expiresInSeconds ?? 300, unhoistableHeaders: new Set(["x-amz-content-sha256"]), unsignableHeaders: new Set(["x-amz-content-sha256"]) },
  );
  return `${target.endpoint}${path}?${new URLSearchParams(signed.query as Record<string, string>).toString()}`;
}
