// A lean S3 client for load: undici connection pools, SigV4 with UNSIGNED-PAYLOAD, bodies streamed as slices
// of one shared random buffer (no per-request allocation of the object), responses counted and dropped.
// Guarantees: an operation that returns ok moved exactly the bytes it should have; anything else is an error
// with the status and the first bytes of the server's answer.
import { randomFillSync } from "node:crypto";
import { Readable } from "node:stream";
import { Pool } from "undici";
import { type Credentials, signedHeaders } from "./sign.ts";

/** One random MiB that every PUT body is cut from (a 64 MiB body is 64 views of it). */
const SHARED_BODY_BYTES = 1024 * 1024;
const sharedBody = randomFillSync(Buffer.allocUnsafe(SHARED_BODY_BYTES));
const ERROR_TEXT_BYTES_MAX = 300;

export interface Target {
  readonly endpoint: string;
  readonly credentials: Credentials;
  readonly bucket: string;
}

export type OperationResult = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly error: string };

/** The body of a `size`-byte PUT: the shared buffer's slices, in order, wrapping around. */
async function* bodyOf(size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const n = Math.min(left, SHARED_BODY_BYTES);
    yield sharedBody.subarray(0, n);
    left -= n;
  }
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[name]!);
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export class S3LoadClient {
  private readonly pool: Pool;
  private readonly host: string;

  constructor(private readonly target: Target, connections: number) {
    const url = new URL(target.endpoint);
    this.host = url.host;
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  private headersFor(method: string, rawPath: string, extra: Record<string, string>): Record<string, string> {
    return signedHeaders(this.target.credentials, { method, host: this.host, rawPath, rawQuery: "", headers: extra }, Date.now());
  }

  /** PUT /bucket: created, or already there (ours). */
  async createBucket(): Promise<OperationResult> {
    const path = `/${this.target.bucket}`;
    const response = await this.pool.request({ method: "PUT", path, headers: this.headersFor("PUT", path, { "content-length": "0" }) });
    const text = await response.body.text();
    if (response.statusCode === 200 || text.includes("BucketAlreadyOwnedByYou")) return { ok: true, bytes: 0 };
    return { ok: false, error: `PUT ${path}: ${response.statusCode} ${text.slice(0, ERROR_TEXT_BYTES_MAX)}` };
  }

  async put(key: string, size: number): Promise<OperationResult> {
    const path = `/${this.target.bucket}/${encodeKey(key)}`;
    const headers = this.headersFor("PUT", path, { "content-length": String(size), "content-type": "application/octet-stream" });
    // A small body goes as one buffer: an async iterator costs more than the bytes for 4 KiB.
    const body = size <= SHARED_BODY_BYTES ? sharedBody.subarray(0, size) : Readable.from(bodyOf(size), { objectMode: false });
    try {
      const response = await this.pool.request({ method: "PUT", path, headers, body });
      const text = await response.body.text();
      if (response.statusCode !== 200) return { ok: false, error: `PUT: ${response.statusCode} ${text.slice(0, ERROR_TEXT_BYTES_MAX)}` };
      return { ok: true, bytes: size };
    } catch (error) {
      return { ok: false, error: `PUT: ${(error as Error).message}` };
    }
  }

  /** GET of the whole object (`range` undefined) or of bytes [first, first + length). */
  async get(key: string, expectedBytes: number, range?: { first: number; length: number }): Promise<OperationResult> {
    const path = `/${this.target.bucket}/${encodeKey(key)}`;
    const extra: Record<string, string> = range === undefined ? {} : { range: `bytes=${range.first}-${range.first + range.length - 1}` };
    const expectedStatus = range === undefined ? 200 : 206;
    const expected = range === undefined ? expectedBytes : range.length;
    try {
      const response = await this.pool.request({ method: "GET", path, headers: this.headersFor("GET", path, extra) });
      if (response.statusCode !== expectedStatus) {
        const text = await response.body.text();
        return { ok: false, error: `GET: ${response.statusCode} ${text.slice(0, ERROR_TEXT_BYTES_MAX)}` };
      }
      let bytes = 0;
      for await (const chunk of response.body) bytes += (chunk as Buffer).length;
      if (bytes !== expected) return { ok: false, error: `GET: ${bytes} bytes, expected ${expected}` };
      return { ok: true, bytes };
    } catch (error) {
      return { ok: false, error: `GET: ${(error as Error).message}` };
    }
  }

  /** HEAD of one object: ok when it exists (200). */
  async head(key: string): Promise<OperationResult> {
    const path = `/${this.target.bucket}/${encodeKey(key)}`;
    try {
      const response = await this.pool.request({ method: "HEAD", path, headers: this.headersFor("HEAD", path, {}) });
      await response.body.dump();
      if (response.statusCode !== 200) return { ok: false, error: `HEAD: ${response.statusCode}` };
      return { ok: true, bytes: 0 };
    } catch (error) {
      return { ok: false, error: `HEAD: ${(error as Error).message}` };
    }
  }

  /** One ListObjectsV2 page: how many keys it held and the token of the next one (undefined at the end). */
  async listPage(maxKeys: number, continuationToken?: string): Promise<{ ok: true; keys: number; next: string | undefined } | { ok: false; error: string }> {
    const path = `/${this.target.bucket}`;
    const query = `list-type=2&max-keys=${maxKeys}${continuationToken === undefined ? "" : `&continuation-token=${encodeURIComponent(continuationToken)}`}`;
    try {
      const headers = signedHeaders(this.target.credentials, { method: "GET", host: this.host, rawPath: path, rawQuery: query, headers: {} }, Date.now());
      const response = await this.pool.request({ method: "GET", path: `${path}?${query}`, headers });
      const text = await response.body.text();
      if (response.statusCode !== 200) return { ok: false, error: `LIST: ${response.statusCode} ${text.slice(0, ERROR_TEXT_BYTES_MAX)}` };
      const keys = text.split("<Key>").length - 1;
      const token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(text)?.[1];
      const truncated = /<IsTruncated>true<\/IsTruncated>/.test(text);
      return { ok: true, keys, next: truncated && token !== undefined ? unescapeXml(token) : undefined };
    } catch (error) {
      return { ok: false, error: `LIST: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
