// The S3 front end: a Koa app that authenticates, validates and dispatches S3 requests (path-style) to
// the bucket registry and the replicated object service.
// Guarantees: every failure a client can cause answers with the S3 error code and XML body AWS sends
// (HEAD requests: status only); anything else is one structured log line and an InternalError; request
// and response bodies are streamed, never buffered whole.
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Koa from "koa";
import type { ObjectVersion } from "../../core/object-version.ts";
import { parseStamp } from "../../core/version.ts";
import type { RuntimeLog } from "../log.ts";
import { S3Error, renderErrorXml, toS3Error } from "../s3/errors.ts";
import { validateBucketName, validateObjectKey } from "../s3/names.ts";
import { contentRange, contentRangeUnsatisfied, parseRange } from "../s3/range.ts";
import { type SigV4Auth, hasAuthentication, verifySigV4 } from "../s3/sigv4.ts";
import { renderListBuckets, renderListObjects } from "./listing.ts";
import type { BucketRegistry } from "./buckets.ts";
import type { ObjectService } from "./object-service.ts";
import { readPutBody, storedMetadataHeaders } from "./request-body.ts";
import { type S3Target, parseTarget } from "./s3-request.ts";

export interface RouterAppDeps {
  readonly log: RuntimeLog;
  readonly objects: ObjectService;
  readonly buckets: BucketRegistry;
  readonly lookupSecret: (accessKey: string) => string | undefined;
  readonly nowMs?: () => number;
  /** Largest object a single PUT may carry (S3: 5 GiB). */
  readonly putBytesMax?: number;
}

export const PUT_BYTES_MAX_DEFAULT = 5 * 1024 ** 3;
const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

type S3Context = Koa.ParameterizedContext & { requestId: string };

export function createRouterApp(deps: RouterAppDeps): Koa {
  const app = new Koa();
  const nowMs = deps.nowMs ?? Date.now;
  app.silent = true;

  app.use(async (ctx, next) => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    (ctx as S3Context).requestId = requestId;
    ctx.set("x-amz-request-id", requestId);
    ctx.set("x-amz-id-2", requestId);
    ctx.set("Server", "ringstore");
    const started = nowMs();
    try {
      await next();
    } catch (thrown) {
      const error = toS3Error(thrown);
      if (error.code === "InternalError" || error.status >= 500) {
        deps.log.error("s3.request-failed", { requestId, method: ctx.method, url: ctx.url, code: error.code, cause: describe(error.cause ?? thrown) });
      }
      const resource = error.resource ?? ctx.path;
      ctx.status = error.status;
      ctx.remove("ETag");
      ctx.remove("Content-Range");
      if (ctx.method === "HEAD") {
        ctx.length = 0;
      } else {
        ctx.type = "application/xml";
        ctx.body = renderErrorXml(error.withResource(resource), requestId);
      }
      // The client may still be sending a body we will not read; close rather than drain it.
      if (ctx.req.readable && !ctx.req.readableEnded) ctx.set("Connection", "close");
    } finally {
      deps.log.debug("s3.request", { requestId, method: ctx.method, url: ctx.url, status: ctx.status, ms: nowMs() - started });
    }
  });

  app.use(async (ctx) => {
    const target = parseTarget(ctx.req.url ?? "/");
    if (target.rawPath === "/-/health") return health(ctx, deps);
    const auth = await authenticate(ctx.req, target, deps.lookupSecret, nowMs());
    await dispatch(ctx as S3Context, target, auth, deps);
  });
  return app;
}

function health(ctx: Koa.Context, deps: RouterAppDeps): void {
  const ok = deps.objects.healthy();
  ctx.status = ok ? 200 : 503;
  ctx.type = "application/json";
  ctx.body = JSON.stringify({ status: ok ? "ok" : "no write quorum reachable" });
}

async function authenticate(req: IncomingMessage, target: S3Target, lookupSecret: (k: string) => string | undefined, nowMs: number): Promise<SigV4Auth> {
  const request = { method: req.method ?? "GET", rawPath: target.rawPath, rawQuery: target.rawQuery, headers: req.headers };
  if (!hasAuthentication(request)) throw new S3Error("AccessDenied", "Anonymous access is not allowed.");
  const verified = await verifySigV4(request, { lookupSecret, nowMs });
  if (!verified.ok) throw verified.error;
  return verified.value;
}

async function dispatch(ctx: S3Context, target: S3Target, auth: SigV4Auth, deps: RouterAppDeps): Promise<void> {
  const method = ctx.method;
  if (target.bucket === null) {
    if (method === "GET") return listBuckets(ctx, deps);
    throw new S3Error("MethodNotAllowed");
  }
  const bucketProblem = validateBucketName(target.bucket);
  if (bucketProblem) throw bucketProblem.withResource(`/${target.bucket}`);
  if (target.key === null) {
    switch (method) {
      case "PUT":
        return createBucket(ctx, target.bucket, deps);
      case "HEAD":
        await deps.buckets.require(target.bucket);
        ctx.set("x-amz-bucket-region", "us-east-1");
        return respondEmpty(ctx, 200);
      case "DELETE":
        await deps.buckets.remove(target.bucket);
        return respondEmpty(ctx, 204);
      case "GET":
        return getBucket(ctx, target, deps);
      default:
        throw new S3Error("MethodNotAllowed");
    }
  }
  const keyProblem = validateObjectKey(target.key);
  if (keyProblem) throw keyProblem;
  switch (method) {
    case "PUT":
      if (ctx.get("x-amz-copy-source")) throw new S3Error("NotImplemented", "CopyObject is not implemented yet.");
      if (target.query.has("partNumber") || target.query.has("uploadId")) throw new S3Error("NotImplemented", "Multipart upload is not implemented yet.");
      return putObject(ctx, target.bucket, target.key, auth, deps);
    case "GET":
    case "HEAD":
      return getObject(ctx, target.bucket, target.key, deps);
    case "DELETE":
      await deps.buckets.require(target.bucket);
      await deps.objects.remove(target.bucket, target.key);
      return respondEmpty(ctx, 204);
    case "POST":
      throw new S3Error("NotImplemented", "Multipart upload is not implemented yet.");
    default:
      throw new S3Error("MethodNotAllowed");
  }
}

async function listBuckets(ctx: S3Context, deps: RouterAppDeps): Promise<void> {
  const buckets = await deps.buckets.list();
  ctx.type = "application/xml";
  ctx.body = renderListBuckets(buckets);
}

async function createBucket(ctx: S3Context, bucket: string, deps: RouterAppDeps): Promise<void> {
  // The optional CreateBucketConfiguration (a location constraint) is read, bounded, and not needed.
  await drainBounded(ctx.req, 64 * 1024);
  const outcome = await deps.buckets.create(bucket);
  if (outcome === "exists") throw new S3Error("BucketAlreadyOwnedByYou", undefined, { extra: { BucketName: bucket } });
  ctx.set("Location", `/${bucket}`);
  respondEmpty(ctx, 200);
}

async function getBucket(ctx: S3Context, target: S3Target, deps: RouterAppDeps): Promise<void> {
  const bucket = target.bucket!;
  await deps.buckets.require(bucket);
  const q = target.query;
  if (q.has("location")) {
    ctx.type = "application/xml";
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NAMESPACE}"></LocationConstraint>`;
    return;
  }
  if (q.has("versioning")) {
    ctx.type = "application/xml";
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="${S3_NAMESPACE}"/>`;
    return;
  }
  await renderListObjects(ctx, bucket, q, deps.objects);
}

async function putObject(ctx: S3Context, bucket: string, key: string, auth: SigV4Auth, deps: RouterAppDeps): Promise<void> {
  await deps.buckets.require(bucket);
  const input = readPutBody(ctx.req, auth, { bucket, key, bytesMax: deps.putBytesMax ?? PUT_BYTES_MAX_DEFAULT });
  const version = await deps.objects.put(input.put);
  const checks = await input.checks;
  ctx.set("ETag", `"${version.etag}"`);
  for (const [name, value] of Object.entries(checks.responseHeaders)) ctx.set(name, value);
  respondEmpty(ctx, 200);
}

async function getObject(ctx: S3Context, bucket: string, key: string, deps: RouterAppDeps): Promise<void> {
  await deps.buckets.require(bucket);
  const version = await deps.objects.head(bucket, key);
  if (!version || version.deleted) throw new S3Error("NoSuchKey", undefined, { extra: { Key: key } });
  const range = parseRange(ctx.get("range") || undefined, version.size);
  setObjectHeaders(ctx, version, { wholeObject: range.kind === "none", checksumMode: ctx.get("x-amz-checksum-mode").toUpperCase() === "ENABLED" });
  if (range.kind === "unsatisfiable") {
    ctx.set("Content-Range", contentRangeUnsatisfied(version.size));
    throw new S3Error("InvalidRange", undefined, { extra: { RangeRequested: ctx.get("range"), ActualObjectSize: String(version.size) } });
  }
  if (range.kind === "range") {
    ctx.status = 206;
    ctx.set("Content-Range", contentRange(range.start, range.endInclusive, version.size));
    ctx.length = range.endInclusive - range.start + 1;
  } else {
    ctx.status = 200;
    ctx.length = version.size;
  }
  // HEAD: Koa sends the status and headers as set, Content-Length included, and no body.
  if (ctx.method === "HEAD") return;
  if (version.size === 0) {
    ctx.body = "";
    return;
  }
  const body = await deps.objects.open(version, range.kind === "range" ? { start: range.start, endInclusive: range.endInclusive } : undefined);
  body.on("error", (error) => deps.log.error("s3.get-body-failed", { requestId: ctx.requestId, bucket, key, stamp: version.stamp, cause: describe(error) }));
  ctx.body = body;
}

function setObjectHeaders(ctx: S3Context, version: ObjectVersion, options: { wholeObject: boolean; checksumMode: boolean }): void {
  ctx.set("ETag", `"${version.etag}"`);
  ctx.set("Last-Modified", new Date(parseStamp(version.stamp)?.physicalMs ?? 0).toUTCString());
  ctx.set("Accept-Ranges", "bytes");
  ctx.type = version.contentType || "application/octet-stream";
  for (const [name, value] of Object.entries(storedMetadataHeaders(version, options))) ctx.set(name, value);
}

/** A response with no body: 200 with Content-Length 0 (Koa would turn a null body into 204), or 204. */
function respondEmpty(ctx: Koa.Context, status: 200 | 204): void {
  if (status === 204) {
    ctx.status = 204;
    return;
  }
  ctx.status = 200;
  if (ctx.method !== "HEAD") {
    ctx.body = "";
    ctx.remove("Content-Type");
  }
}

async function drainBounded(req: IncomingMessage, bytesMax: number): Promise<void> {
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > bytesMax) throw new S3Error("MaxMessageLengthExceeded");
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.cause ? `${error.message} (cause: ${describe(error.cause)})` : error.message;
  return String(error);
}
