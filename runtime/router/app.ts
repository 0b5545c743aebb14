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
import { openManifestObject } from "./manifest-reader.ts";
import { isManifestObject, logicalSize } from "./manifest.ts";
import { Multipart, readSmallBody } from "./multipart.ts";
import { copyObject, uploadPartCopy } from "./copy.ts";
import { evaluateConditions } from "./conditions.ts";
import { DELETE_OBJECTS_BYTES_MAX, parseDeleteObjects, renderDeleteResult } from "../s3/xml.ts";
import { mapLimit } from "../../core/quorum.ts";
import { type S3Target, parseTarget } from "./s3-request.ts";

export interface RouterAppDeps {
  readonly log: RuntimeLog;
  readonly objects: ObjectService;
  readonly buckets: BucketRegistry;
  readonly lookupSecret: (accessKey: string) => string | undefined;
  readonly nowMs?: () => number;
  /** Largest object a single PUT may carry (S3: 5 GiB). */
  readonly putBytesMax?: number;
  /** S3 requests served at once; beyond it clients get 503 SlowDown and retry with back-off. */
  readonly requestsInFlightMax?: number;
}

/** A PUT holds ~1 MiB per replica in flight (the tee's buffers) until it returns: 512 bound that to ~1.5 GiB. */
export const REQUESTS_IN_FLIGHT_MAX_DEFAULT = 512;

export const PUT_BYTES_MAX_DEFAULT = 5 * 1024 ** 3;
const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

type S3Context = Koa.ParameterizedContext & { requestId: string };

interface Handlers extends RouterAppDeps {
  readonly multipart: Multipart;
}

export function createRouterApp(appDeps: RouterAppDeps): Koa {
  const deps: Handlers = { ...appDeps, multipart: new Multipart(appDeps.objects, appDeps.log) };
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

  let inFlight = 0;
  const inFlightMax = deps.requestsInFlightMax ?? REQUESTS_IN_FLIGHT_MAX_DEFAULT;
  app.use(async (ctx) => {
    const target = parseTarget(ctx.req.url ?? "/");
    if (target.rawPath === "/-/health") return health(ctx, deps);
    if (inFlight >= inFlightMax) throw new S3Error("SlowDown");
    inFlight++;
    try {
      await serve(ctx, target);
    } finally {
      inFlight--;
    }
  });
  const serve = async (ctx: Koa.Context, target: S3Target) => {
    const auth = await authenticate(ctx.req, target, deps.lookupSecret, nowMs());
    await dispatch(ctx as S3Context, target, auth, deps);
  };
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

async function dispatch(ctx: S3Context, target: S3Target, auth: SigV4Auth, deps: Handlers): Promise<void> {
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
        if (target.query.has("uploads")) {
          await deps.buckets.require(target.bucket);
          return deps.multipart.listUploads(ctx, target.bucket, target.query);
        }
        return getBucket(ctx, target, deps);
      case "POST":
        if (target.query.has("delete")) return deleteObjects(ctx, target.bucket, auth, deps);
        throw new S3Error("NotImplemented", "POST object (browser form upload) is not implemented.");
      default:
        throw new S3Error("MethodNotAllowed");
    }
  }
  const keyProblem = validateObjectKey(target.key);
  if (keyProblem) throw keyProblem;
  const uploadId = target.query.get("uploadId");
  await deps.buckets.require(target.bucket);
  switch (method) {
    case "PUT":
      if (ctx.get("x-amz-copy-source")) {
        if (uploadId !== null) return uploadPartCopy(ctx, { bucket: target.bucket, key: target.key, uploadId, partNumber: target.query.get("partNumber") ?? "" }, deps);
        return copyObject(ctx, { bucket: target.bucket, key: target.key }, { ...deps, replacing: deps.multipart });
      }
      if (uploadId !== null) return deps.multipart.uploadPart(ctx, target.bucket, target.key, uploadId, target.query.get("partNumber") ?? "", auth);
      return putObject(ctx, target.bucket, target.key, auth, deps);
    case "GET":
      if (uploadId !== null) return deps.multipart.listParts(ctx, target.bucket, target.key, uploadId, target.query);
      return getObject(ctx, target.bucket, target.key, deps);
    case "HEAD":
      return getObject(ctx, target.bucket, target.key, deps);
    case "DELETE":
      if (uploadId !== null) return deps.multipart.abort(ctx, target.bucket, target.key, uploadId);
      await deleteObject(target.bucket, target.key, deps);
      return respondEmpty(ctx, 204);
    case "POST":
      if (target.query.has("uploads")) return deps.multipart.create(ctx, target.bucket, target.key);
      if (uploadId !== null) return deps.multipart.complete(ctx, target.bucket, target.key, uploadId, auth);
      throw new S3Error("MethodNotAllowed");
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

async function putObject(ctx: S3Context, bucket: string, key: string, auth: SigV4Auth, deps: Handlers): Promise<void> {
  const input = readPutBody(ctx.req, auth, { bucket, key, bytesMax: deps.putBytesMax ?? PUT_BYTES_MAX_DEFAULT });
  const previous = deps.multipart.previousVersion(bucket, key);
  const version = await deps.objects.put(input.put);
  deps.multipart.collectReplaced(previous, version);
  const checks = await input.checks;
  ctx.set("ETag", `"${version.etag}"`);
  for (const [name, value] of Object.entries(checks.responseHeaders)) ctx.set(name, value);
  respondEmpty(ctx, 200);
}

async function getObject(ctx: S3Context, bucket: string, key: string, deps: RouterAppDeps): Promise<void> {
  const version = await deps.objects.head(bucket, key);
  if (!version || version.deleted) throw new S3Error("NoSuchKey", undefined, { extra: { Key: key } });
  const size = logicalSize(version);
  const range = parseRange(ctx.get("range") || undefined, size);
  if (evaluateConditions(ctx, version) === "not-modified") {
    // No body, so none of the body's headers (a checksum here would be checked against nothing).
    ctx.status = 304;
    ctx.set("ETag", `"${version.etag}"`);
    ctx.set("Last-Modified", new Date(parseStamp(version.stamp)?.physicalMs ?? 0).toUTCString());
    return;
  }
  setObjectHeaders(ctx, version, { wholeObject: range.kind === "none", checksumMode: ctx.get("x-amz-checksum-mode").toUpperCase() === "ENABLED" });
  if (range.kind === "unsatisfiable") {
    ctx.set("Content-Range", contentRangeUnsatisfied(size));
    throw new S3Error("InvalidRange", undefined, { extra: { RangeRequested: ctx.get("range"), ActualObjectSize: String(size) } });
  }
  const wanted = range.kind === "range" ? { start: range.start, endInclusive: range.endInclusive } : undefined;
  if (wanted) {
    ctx.status = 206;
    ctx.set("Content-Range", contentRange(wanted.start, wanted.endInclusive, size));
    ctx.length = wanted.endInclusive - wanted.start + 1;
  } else {
    ctx.status = 200;
    ctx.length = size;
  }
  // HEAD: Koa sends the status and headers as set, Content-Length included, and no body.
  if (ctx.method === "HEAD") return;
  if (size === 0) {
    ctx.body = "";
    return;
  }
  const body = isManifestObject(version) ? await openManifestObject(deps.objects, version, wanted ?? { start: 0, endInclusive: size - 1 }) : await deps.objects.open(version, wanted);
  body.on("error", (error) => deps.log.error("s3.get-body-failed", { requestId: ctx.requestId, bucket, key, stamp: version.stamp, cause: describe(error) }));
  ctx.body = body;
}

async function deleteObject(bucket: string, key: string, deps: Handlers): Promise<void> {
  const previous = deps.multipart.previousVersion(bucket, key);
  // A multipart object's parts go with it (after the tombstone is committed, never before).
  deps.multipart.collectReplaced(previous, await deps.objects.remove(bucket, key));
}

async function deleteObjects(ctx: S3Context, bucket: string, auth: SigV4Auth, deps: Handlers): Promise<void> {
  await deps.buckets.require(bucket);
  const parsed = parseDeleteObjects(await readSmallBody(ctx.req, auth, DELETE_OBJECTS_BYTES_MAX));
  if (!parsed.ok) throw parsed.error;
  const deleted: { key: string }[] = [];
  const errors: { key: string; code: string; message: string }[] = [];
  await mapLimit(parsed.value.objects, 8, async ({ key }) => {
    const problem = validateObjectKey(key);
    if (problem) return void errors.push({ key, code: problem.code, message: problem.message });
    try {
      await deleteObject(bucket, key, deps);
      deleted.push({ key });
    } catch (thrown) {
      const error = toS3Error(thrown);
      errors.push({ key, code: error.code, message: error.message });
    }
  });
  ctx.type = "application/xml";
  ctx.body = renderDeleteResult({ deleted: parsed.value.quiet ? [] : deleted, errors });
}

function setObjectHeaders(ctx: S3Context, version: ObjectVersion, options: { wholeObject: boolean; checksumMode: boolean }): void {
  ctx.set("ETag", `"${version.etag}"`);
  ctx.set("Last-Modified", new Date(parseStamp(version.stamp)?.physicalMs ?? 0).toUTCString());
  ctx.set("Accept-Ranges", "bytes");
  // Set verbatim: ctx.type would add a charset the client never sent.
  ctx.set("Content-Type", version.contentType || "application/octet-stream");
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
