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
import type { RouterMetrics } from "../metrics.ts";
import { S3Error, renderErrorXml, toS3Error } from "../s3/errors.ts";
import { validateBucketName, validateObjectKey } from "../s3/names.ts";
import { contentRange, contentRangeUnsatisfied, parseRange, rangeBeforeSize } from "../s3/range.ts";
import type { BodyPrefetch } from "../../core/coordinator.ts";
import { type PayloadPlan, planPayload } from "../s3/payload.ts";
import { type SigV4Auth, hasAuthentication, verifySigV4 } from "../s3/sigv4.ts";
import { hasSigV2Query, verifySigV2Query } from "../s3/sigv2-query.ts";
import { OWNER, renderListBuckets, renderListObjectVersions, renderListObjects } from "./listing.ts";
import type { BucketRegistry } from "./buckets.ts";
import type { ObjectService } from "./object-service.ts";
import { readPutBody, storedMetadataHeaders } from "./request-body.ts";
import { openManifestObject } from "./manifest-reader.ts";
import { isManifestObject, logicalSize } from "../../core/manifest.ts";
import { Multipart, readSmallBody } from "./multipart.ts";
import { copyObject, uploadPartCopy } from "./copy.ts";
import { checkWriteConditions, evaluateConditions } from "./conditions.ts";
import { CORS_CONFIGURATION_BYTES_MAX, DELETE_OBJECTS_BYTES_MAX, TAGGING_BYTES_MAX, parseTagging, LIFECYCLE_CONFIGURATION_BYTES_MAX, parseLifecycleConfiguration, renderLifecycleConfiguration, type DeleteErrorEntry, type DeletedEntry, parseCorsConfiguration, parseDeleteObjects, renderCorsConfiguration, parseOwnerOnlyAcl, renderDeleteResult, renderLocationConstraint, renderOwnerOnlyAcl, renderVersioningNeverEnabled } from "../s3/xml.ts";
import { type OperationOf, refuseUnsupportedHeaders, resolveOperation } from "../s3/operations.ts";
import { corsHeaders, matchCorsRule, requestedHeaders } from "../s3/cors.ts";
import { mapLimit } from "../../core/quorum.ts";
import { type S3Target, parseTarget } from "./s3-request.ts";
import { type BodyRateSettings, BodyRateGuard } from "./slow-clients.ts";
import { setTags, startTagCount, taggingMetaFrom, tagsOf } from "./object-tags.ts";
import { needsSpooling, spoolBody } from "./spooled-body.ts";
import { renderTagging } from "../s3/tagging.ts";
import { type UploadExpirySettings, startUploadExpiry } from "./upload-expiry.ts";
import { enterWithToken, presentedToken, sameToken } from "./operator-access.ts";
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from "./status-page.ts";
import type { StatusReporter } from "./status-report.ts";

export interface RouterAppDeps {
  readonly log: RuntimeLog;
  readonly objects: ObjectService;
  readonly buckets: BucketRegistry;
  readonly lookupSecret: (accessKey: string) => string | undefined;
  readonly nowMs?: () => number;
  /** Largest object a single PUT may carry (S3: 5 GiB). */
  readonly putBytesMax?: number;
  /** S3 requests served at once (response bodies included); beyond it clients get 503 SlowDown and retry with back-off. */
  readonly requestsInFlightMax?: number;
  /** Prometheus metrics of this router, and the bearer token that opens GET /-/metrics on the S3 port. */
  readonly metrics?: { readonly router: RouterMetrics; readonly token: string };
  /** The status page (/-/status, /-/status.json), opened by the same token as the metrics. */
  readonly status?: StatusReporter;
  /** Share of S3 requests that get an access log line (0 turns it off, 1 logs every one). */
  readonly accessLogShare?: number;
  /** Domains whose subdomains name buckets (virtual-hosted style): `bucket.<domain>`. */
  readonly domains?: readonly string[];
  /** Incomplete multipart uploads are aborted after this age, or their bucket's lifecycle rule (upload-expiry.ts). */
  readonly uploadExpiry?: UploadExpirySettings;
  /** The slowest request body the router waits for (slow-clients.ts). */
  readonly bodyRate?: BodyRateSettings;
}

/** A PUT holds ~1 MiB per replica in flight (the tee's buffers) until it returns: 512 bound that to ~1.5 GiB. */
export const REQUESTS_IN_FLIGHT_MAX_DEFAULT = 512;

export const PUT_BYTES_MAX_DEFAULT = 5 * 1024 ** 3;
export const DOMAINS_DEFAULT: readonly string[] = ["localhost"];
/** The one region a ringstore cluster reports. */
const REGION = "us-east-1";

type S3Context = Koa.ParameterizedContext & { requestId: string; clientGone: AbortSignal };

/** GetObject's `response-*` parameters and the response header each one overrides (S3 REST API). */
const RESPONSE_OVERRIDES = [
  ["response-content-type", "Content-Type"],
  ["response-content-language", "Content-Language"],
  ["response-expires", "Expires"],
  ["response-cache-control", "Cache-Control"],
  ["response-content-disposition", "Content-Disposition"],
  ["response-content-encoding", "Content-Encoding"],
] as const;

interface Handlers extends RouterAppDeps {
  readonly multipart: Multipart;
}

export function createRouterApp(appDeps: RouterAppDeps): Koa {
  const deps: Handlers = { ...appDeps, multipart: new Multipart(appDeps.objects, appDeps.log) };
  if (appDeps.uploadExpiry) startUploadExpiry({ multipart: deps.multipart, buckets: deps.buckets, log: deps.log, ...appDeps.uploadExpiry });
  const app = new Koa();
  const nowMs = deps.nowMs ?? Date.now;
  const domains = deps.domains ?? DOMAINS_DEFAULT;
  const accessLogShare = deps.accessLogShare ?? 1;
  const accessLogSampled = () => accessLogShare >= 1 || (accessLogShare > 0 && Math.random() < accessLogShare);
  app.silent = true;
  // Koa reports errors it meets after the response began (a client gone mid-body): a client that leaves is
  // ordinary, not an operator's problem.
  app.on("error", (error: unknown, ctx?: Koa.Context) => {
    const code = (error as { code?: string }).code;
    const fields = { requestId: (ctx as S3Context | undefined)?.requestId, method: ctx?.method, url: ctx ? redactedUrl(ctx.url) : undefined, cause: describe(error) };
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE" || ctx?.req.destroyed) deps.log.info("s3.client-aborted", fields);
    else deps.log.error("s3.response-failed", fields);
  });

  app.use(async (ctx, next) => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    (ctx as S3Context).requestId = requestId;
    // The response closing before it finished means the client went away: work for it stops.
    const clientGone = new AbortController();
    (ctx as S3Context).clientGone = clientGone.signal;
    ctx.res.once("close", () => {
      if (!ctx.res.writableFinished) clientGone.abort(new Error("the client closed the connection"));
    });
    ctx.set("x-amz-request-id", requestId);
    ctx.set("x-amz-id-2", requestId);
    ctx.set("Server", "ringstore");
    const started = nowMs();
    const metrics = deps.metrics?.router;
    if (metrics) {
      ctx.res.once("close", () => {
        const operation = (ctx.state as { operation?: string }).operation;
        if (operation === undefined) return; // health checks and scrapes are not S3 requests
        metrics.requests.inc({ operation, status: String(ctx.res.statusCode) });
        metrics.requestSeconds.observe({ operation }, (nowMs() - started) / 1000);
        metrics.bytesIn.inc(Number(ctx.get("content-length")) || 0);
        if (ctx.res.writableFinished && typeof ctx.length === "number") metrics.bytesOut.inc(ctx.length);
      });
    }
    try {
      await next();
    } catch (thrown) {
      const error = toS3Error(thrown);
      // NotImplemented is a 501 the client caused (a feature it asked for); the other 5xx are the cluster's.
      if (error.code === "NotImplemented") {
        deps.log.info("s3.not-implemented", { requestId, method: ctx.method, url: redactedUrl(ctx.url), cause: error.message });
      } else if (error.code === "InternalError" || error.status >= 500) {
        deps.log.error("s3.request-failed", { requestId, method: ctx.method, url: redactedUrl(ctx.url), code: error.code, cause: describe(error.cause ?? thrown) });
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
      // One access line per S3 request (health checks are not S3 requests and are not logged).
      if (ctx.path !== "/-/health" && accessLogSampled()) {
        deps.log.info("s3.access", {
          requestId,
          method: ctx.method,
          url: redactedUrl(ctx.url),
          status: ctx.status,
          bytesIn: Number(ctx.get("content-length")) || 0,
          bytesOut: typeof ctx.length === "number" ? ctx.length : 0,
          ms: nowMs() - started,
        });
      }
    }
  });

  let inFlight = 0;
  const inFlightMax = deps.requestsInFlightMax ?? REQUESTS_IN_FLIGHT_MAX_DEFAULT;
  const bodyRate = new BodyRateGuard(deps.bodyRate, nowMs);
  app.use(async (ctx) => {
    const target = parseTarget(ctx.req.url ?? "/", ctx.get("host") || undefined, domains);
    if (target.rawPath === "/-/health") return health(ctx, deps);
    if (target.rawPath === "/-/metrics") return scrape(ctx, deps);
    if (target.rawPath === "/-/status" || target.rawPath === "/-/status.json") return statusPage(ctx, target.rawPath, target.query, deps);
    (ctx.state as { operation?: string }).operation = "Unresolved";
    // A browser's preflight carries no signature: it is answered from the bucket's CORS rules alone.
    if (ctx.method === "OPTIONS") {
      (ctx.state as { operation?: string }).operation = "Preflight";
      return preflight(ctx, target, deps);
    }
    if (inFlight >= inFlightMax) throw new S3Error("SlowDown");
    // A slot is held until the response has gone out or the connection closed, not only until the handler
    // returns: a GET's body streams after that, and holds replica streams and buffers while it does.
    inFlight++;
    deps.metrics?.router.inFlight.inc();
    let released = false;
    ctx.res.once("close", () => {
      if (!released) {
        inFlight--;
        deps.metrics?.router.inFlight.dec();
      }
      released = true;
    });
    const sendsBody = ctx.req.headers["content-length"] !== undefined ? ctx.req.headers["content-length"] !== "0" : ctx.req.headers["transfer-encoding"] !== undefined;
    const stopWatching = sendsBody
      ? bodyRate.watch(ctx.req, (bytesPerSecond) => {
          deps.log.info("s3.slow-client-dropped", { requestId: (ctx as S3Context).requestId, method: ctx.method, url: redactedUrl(ctx.url), bytesPerSecond: Math.round(bytesPerSecond) });
          ctx.req.socket.destroy();
        })
      : () => {};
    try {
      await serve(ctx, target);
    } finally {
      stopWatching();
      // Errors too: a page can read why its request failed only if the answer carries the CORS headers.
      if (ctx.get("origin") && target.bucket !== null) await addCorsHeaders(ctx, target.bucket, deps);
    }
  });
  const serve = async (ctx: Koa.Context, target: S3Target) => {
    const auth = await authenticate(ctx.req, target, deps.lookupSecret, nowMs());
    await dispatch(ctx as S3Context, target, auth, deps);
  };
  return app;
}

/** GET /-/metrics with the token from the data folder (operator-access.ts): Prometheus' text format. */
async function scrape(ctx: Koa.Context, deps: RouterAppDeps): Promise<void> {
  const metrics = deps.metrics;
  if (!metrics || ctx.method !== "GET" || !sameToken(presentedToken(ctx), metrics.token)) throw new S3Error("AccessDenied");
  ctx.type = metrics.router.registry.contentType;
  ctx.body = await metrics.router.registry.metrics();
}

/** GET /-/status (the page) and /-/status.json (what it shows), with the metrics token (operator-access.ts). */
async function statusPage(ctx: Koa.Context, path: string, query: URLSearchParams, deps: RouterAppDeps): Promise<void> {
  const token = deps.metrics?.token ?? "";
  if (!deps.status || ctx.method !== "GET") throw new S3Error("AccessDenied");
  const fromQuery = query.get("token");
  if (path === "/-/status" && fromQuery !== null) {
    if (!sameToken(fromQuery, token)) throw new S3Error("AccessDenied", "Wrong token: open /-/status?token=<the contents of metrics-token in the router's data folder>.");
    return enterWithToken(ctx, "/-/status", token);
  }
  if (!sameToken(presentedToken(ctx), token)) throw new S3Error("AccessDenied", "Open /-/status?token=<the contents of metrics-token in the router's data folder>, or send it as a bearer token.");
  if (path === "/-/status.json") {
    ctx.set("Cache-Control", "no-store");
    ctx.type = "application/json";
    ctx.body = JSON.stringify(await deps.status.report());
    return;
  }
  for (const [name, value] of Object.entries(STATUS_PAGE_HEADERS)) ctx.set(name, value);
  ctx.type = "text/html; charset=utf-8";
  ctx.body = STATUS_PAGE_HTML;
}

async function preflight(ctx: Koa.Context, target: S3Target, deps: RouterAppDeps): Promise<void> {
  const origin = ctx.get("origin");
  const method = ctx.get("access-control-request-method");
  if (!origin || !method) throw new S3Error("InvalidRequest", "Insufficient information. Origin request header needed.");
  if (target.bucket === null) throw new S3Error("AccessForbidden");
  const rules = (await deps.buckets.find(target.bucket))?.settings.cors ?? [];
  const request = { origin, method, requestHeaders: requestedHeaders(ctx.get("access-control-request-headers") || undefined) };
  const rule = matchCorsRule(rules, request);
  if (rule === undefined) throw new S3Error("AccessForbidden", undefined, { extra: { Method: method, ResourceType: target.key === null ? "BUCKET" : "OBJECT" } });
  for (const [name, value] of Object.entries(corsHeaders(rule, request, true))) ctx.set(name, value);
  respondEmpty(ctx, 200);
}

/** The CORS headers of an actual (signed) request from a page, when a rule of its bucket allows it. */
async function addCorsHeaders(ctx: Koa.Context, bucket: string, deps: RouterAppDeps): Promise<void> {
  try {
    const rules = (await deps.buckets.find(bucket))?.settings.cors;
    if (rules === undefined) return;
    const request = { origin: ctx.get("origin"), method: ctx.method };
    const rule = matchCorsRule(rules, request);
    if (rule !== undefined) for (const [name, value] of Object.entries(corsHeaders(rule, request, false))) ctx.set(name, value);
  } catch (error) {
    // Without the bucket's rules the browser withholds the answer, which is the safe side; the request's own
    // outcome is already decided.
    deps.log.warn("s3.cors-lookup-failed", { bucket, cause: describe(error) });
  }
}

function health(ctx: Koa.Context, deps: RouterAppDeps): void {
  const ok = deps.objects.healthy();
  ctx.status = ok ? 200 : 503;
  ctx.type = "application/json";
  ctx.body = JSON.stringify({ status: ok ? "ok" : "no write quorum reachable" });
}

async function authenticate(req: IncomingMessage, target: S3Target, lookupSecret: (k: string) => string | undefined, nowMs: number): Promise<SigV4Auth> {
  const request = { method: req.method ?? "GET", rawPath: target.rawPath, rawQuery: target.rawQuery, headers: req.headers };
  if (request.headers["authorization"] === undefined && hasSigV2Query(target.rawQuery)) {
    // SigV2 signs the bucket as part of the resource, wherever the client put it.
    const resource = target.virtualHost ? `/${target.bucket}${target.rawPath}` : target.rawPath;
    return verifySigV2Query({ ...request, rawPath: resource }, { lookupSecret, nowMs });
  }
  if (!hasAuthentication(request)) throw new S3Error("AccessDenied", "Anonymous access is not allowed.");
  const verified = await verifySigV4(request, { lookupSecret, nowMs });
  if (!verified.ok) throw verified.error;
  return verified.value;
}

/** A request parsed once: the operation the table chose, what it names, and who signed it. */
interface BucketRequest {
  readonly bucket: string;
  readonly query: URLSearchParams;
  readonly auth: SigV4Auth;
  /** What the headers say of the body (its form, declared size, the checks asked for), planned at dispatch. */
  readonly payload: PayloadPlan;
}
interface ObjectRequest extends BucketRequest {
  readonly key: string;
}

type Handler<R> = (ctx: S3Context, request: R, deps: Handlers) => Promise<void>;

const BUCKET_HANDLERS: { readonly [N in OperationOf<"bucket">]: Handler<BucketRequest> } = {
  CreateBucket: (ctx, r, deps) => createBucket(ctx, r.bucket, deps),
  HeadBucket: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    ctx.set("x-amz-bucket-region", REGION);
    respondEmpty(ctx, 200);
  },
  DeleteBucket: async (ctx, r, deps) => {
    await deps.buckets.remove(r.bucket);
    respondEmpty(ctx, 204);
  },
  ListObjects: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    await renderListObjects(ctx, r.bucket, r.query, deps.objects, signalOf(ctx));
  },
  ListObjectVersions: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    await renderListObjectVersions(ctx, r.bucket, r.query, deps.objects, signalOf(ctx));
  },
  ListMultipartUploads: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    await deps.multipart.listUploads(ctx, r.bucket, r.query, signalOf(ctx));
  },
  GetBucketLocation: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    respondXml(ctx, renderLocationConstraint(REGION));
  },
  GetBucketVersioning: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    respondXml(ctx, renderVersioningNeverEnabled());
  },
  GetBucketAcl: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    respondXml(ctx, renderOwnerOnlyAcl(OWNER));
  },
  PutBucketAcl: async (ctx, r, deps) => {
    await deps.buckets.require(r.bucket);
    await acceptOwnerOnlyAcl(ctx, r.payload);
    respondEmpty(ctx, 200);
  },
  PutBucketCors: async (ctx, r, deps) => {
    requireIntegrityCheck(ctx);
    const parsed = parseCorsConfiguration(await readSmallBody(ctx.req, r.payload, CORS_CONFIGURATION_BYTES_MAX));
    if (!parsed.ok) throw parsed.error;
    await deps.buckets.updateSettings(r.bucket, (settings) => ({ ...settings, cors: parsed.value }));
    respondEmpty(ctx, 200);
  },
  GetBucketCors: async (ctx, r, deps) => {
    const rules = (await deps.buckets.require(r.bucket)).settings.cors;
    if (rules === undefined) throw new S3Error("NoSuchCORSConfiguration", undefined, { extra: { BucketName: r.bucket } });
    respondXml(ctx, renderCorsConfiguration(rules));
  },
  DeleteBucketCors: async (ctx, r, deps) => {
    await deps.buckets.updateSettings(r.bucket, (settings) => ({ ...settings, cors: undefined }));
    respondEmpty(ctx, 204);
  },
  PutBucketLifecycleConfiguration: async (ctx, r, deps) => {
    requireIntegrityCheck(ctx);
    const parsed = parseLifecycleConfiguration(await readSmallBody(ctx.req, r.payload, LIFECYCLE_CONFIGURATION_BYTES_MAX));
    if (!parsed.ok) throw parsed.error;
    await deps.buckets.updateSettings(r.bucket, (settings) => ({ ...settings, lifecycle: parsed.value }));
    respondEmpty(ctx, 200);
  },
  GetBucketLifecycleConfiguration: async (ctx, r, deps) => {
    const rules = (await deps.buckets.require(r.bucket)).settings.lifecycle;
    if (rules === undefined) throw new S3Error("NoSuchLifecycleConfiguration", undefined, { extra: { BucketName: r.bucket } });
    respondXml(ctx, renderLifecycleConfiguration(rules));
  },
  DeleteBucketLifecycle: async (ctx, r, deps) => {
    await deps.buckets.updateSettings(r.bucket, (settings) => ({ ...settings, lifecycle: undefined }));
    respondEmpty(ctx, 204);
  },
  DeleteObjects: (ctx, r, deps) => deleteObjects(ctx, r.bucket, r.payload, deps),
};

const OBJECT_HANDLERS: { readonly [N in OperationOf<"object">]: Handler<ObjectRequest> } = {
  PutObject: (ctx, r, deps) => {
    if (ctx.get("x-amz-copy-source")) return copyObject(ctx, { bucket: r.bucket, key: r.key }, { ...deps, replacing: deps.multipart });
    return putObject(ctx, r.bucket, r.key, r.payload, deps);
  },
  GetObject: (ctx, r, deps) => getObject(ctx, r.bucket, r.key, r.query, deps),
  HeadObject: (ctx, r, deps) => getObject(ctx, r.bucket, r.key, r.query, deps),
  DeleteObject: async (ctx, r, deps) => {
    await deleteObject(r.bucket, r.key, deps);
    respondEmpty(ctx, 204);
  },
  GetObjectAcl: async (ctx, r, deps) => {
    await requireObject(r.bucket, r.key, deps);
    respondXml(ctx, renderOwnerOnlyAcl(OWNER));
  },
  PutObjectAcl: async (ctx, r, deps) => {
    await requireObject(r.bucket, r.key, deps);
    await acceptOwnerOnlyAcl(ctx, r.payload);
    respondEmpty(ctx, 200);
  },
  GetObjectTagging: async (ctx, r, deps) => {
    respondXml(ctx, renderTagging(await tagsOf(deps.objects, await requireObject(r.bucket, r.key, deps))));
    ctx.set("x-amz-version-id", "null");
  },
  PutObjectTagging: async (ctx, r, deps) => {
    requireIntegrityCheck(ctx);
    const parsed = parseTagging(await readSmallBody(ctx.req, r.payload, TAGGING_BYTES_MAX));
    if (!parsed.ok) throw parsed.error;
    await setTags(deps.objects, deps.buckets, await requireObject(r.bucket, r.key, deps), parsed.value);
    ctx.set("x-amz-version-id", "null");
    respondEmpty(ctx, 200);
  },
  DeleteObjectTagging: async (ctx, r, deps) => {
    await setTags(deps.objects, deps.buckets, await requireObject(r.bucket, r.key, deps), []);
    ctx.set("x-amz-version-id", "null");
    respondEmpty(ctx, 204);
  },
  CreateMultipartUpload: (ctx, r, deps) => deps.multipart.create(ctx, r.bucket, r.key),
  UploadPart: (ctx, r, deps) => {
    const uploadId = r.query.get("uploadId")!;
    const partNumber = r.query.get("partNumber") ?? "";
    if (ctx.get("x-amz-copy-source")) return uploadPartCopy(ctx, { bucket: r.bucket, key: r.key, uploadId, partNumber }, deps);
    return deps.multipart.uploadPart(ctx, r.bucket, r.key, uploadId, partNumber, r.payload);
  },
  CompleteMultipartUpload: (ctx, r, deps) => deps.multipart.complete(ctx, r.bucket, r.key, r.query.get("uploadId")!, r.payload),
  AbortMultipartUpload: (ctx, r, deps) => deps.multipart.abort(ctx, r.bucket, r.key, r.query.get("uploadId")!),
  ListParts: (ctx, r, deps) => deps.multipart.listParts(ctx, r.bucket, r.key, r.query.get("uploadId")!, r.query),
};

async function dispatch(ctx: S3Context, target: S3Target, auth: SigV4Auth, deps: Handlers): Promise<void> {
  const scope = target.bucket === null ? "service" : target.key === null ? "bucket" : "object";
  // The table decides before anything is read or written: an operation it does not hold touches nothing.
  const operation = resolveOperation(ctx.method, scope, target.query);
  (ctx.state as { operation?: string }).operation = operation.name;
  refuseUnsupportedHeaders(ctx.req.headers);
  if (operation.scope === "service") return listBuckets(ctx, deps);
  // The body's plan, once: every handler that reads a body decodes it by this plan (runtime/s3/payload.ts).
  const payload = planPayload(ctx.req.headers, auth);
  if (payload instanceof S3Error) throw payload;
  const bucket = target.bucket!;
  const bucketProblem = validateBucketName(bucket);
  if (bucketProblem) throw bucketProblem.withResource(`/${bucket}`);
  if (operation.scope === "bucket") return BUCKET_HANDLERS[operation.name](ctx, { bucket, query: target.query, auth, payload }, deps);
  const key = target.key!;
  const keyProblem = validateObjectKey(key);
  if (keyProblem) throw keyProblem;
  await deps.buckets.require(bucket);
  return OBJECT_HANDLERS[operation.name](ctx, { bucket, key, query: target.query, auth, payload }, deps);
}

/** Aborted once the client has gone away, so that work done for it stops (listings, reads, writes). */
function signalOf(ctx: S3Context): AbortSignal {
  return ctx.clientGone;
}

async function requireObject(bucket: string, key: string, deps: Handlers): Promise<ObjectVersion> {
  const version = await deps.objects.head(bucket, key);
  if (!version || version.deleted) throw new S3Error("NoSuchKey", undefined, { extra: { Key: key } });
  return version;
}

/** Put*Acl: the canned `private` header, or a body granting only the owner FULL_CONTROL; nothing else exists. */
async function acceptOwnerOnlyAcl(ctx: S3Context, payload: PayloadPlan): Promise<void> {
  // x-amz-acl other than private was refused with the other unsupported headers.
  const body = await readSmallBody(ctx.req, payload, 64 * 1024);
  if (body.length === 0) return;
  if (ctx.get("x-amz-acl")) throw new S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants or an ACL body is not allowed");
  const problem = parseOwnerOnlyAcl(body, OWNER.id);
  if (problem) throw problem;
}

/** The operations S3 refuses without Content-MD5 or an x-amz-checksum-* (the payload decoder then verifies it). */
function requireIntegrityCheck(ctx: Koa.Context): void {
  const headers = Object.keys(ctx.req.headers);
  if (headers.includes("content-md5") || headers.some((h) => h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-type")) return;
  if (ctx.get("x-amz-trailer").toLowerCase().startsWith("x-amz-checksum-")) return;
  throw new S3Error("InvalidRequest", "Missing required header for this request: Content-MD5 or x-amz-checksum-*");
}

function respondXml(ctx: Koa.Context, xml: string): void {
  ctx.status = 200;
  ctx.type = "application/xml";
  ctx.body = xml;
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

async function putObject(ctx: S3Context, bucket: string, key: string, payload: PayloadPlan, deps: Handlers): Promise<void> {
  await checkWriteConditions(ctx, () => deps.objects.head(bucket, key), key);
  const bytesMax = deps.putBytesMax ?? PUT_BYTES_MAX_DEFAULT;
  const spooled = needsSpooling(ctx.req) ? await spoolBody(ctx.req, bytesMax) : undefined;
  try {
    // A spooled body's size is known now: the plan's declared length is the spooled file's.
    const planned = spooled ? { ...payload, bytesDeclared: spooled.bytes } : payload;
    await putObjectBody(ctx, spooled?.req ?? ctx.req, { bucket, key, payload: planned, bytesMax }, deps);
  } finally {
    await spooled?.release();
  }
}

async function putObjectBody(ctx: S3Context, req: IncomingMessage, target: { bucket: string; key: string; payload: PayloadPlan; bytesMax: number }, deps: Handlers): Promise<void> {
  const { bucket, key, payload, bytesMax } = target;
  const input = readPutBody(req, payload, { bucket, key, bytesMax, metadata: taggingMetaFrom(ctx.get("x-amz-tagging")) });
  const previous = deps.multipart.previousVersion(bucket, key);
  const version = await deps.objects.put(input.put);
  deps.multipart.collectReplaced(previous, version);
  const checks = await input.checks;
  ctx.set("ETag", `"${version.etag}"`);
  for (const [name, value] of Object.entries(checks.responseHeaders)) ctx.set(name, value);
  respondEmpty(ctx, 200);
}

async function getObject(ctx: S3Context, bucket: string, key: string, query: URLSearchParams, deps: RouterAppDeps): Promise<void> {
  const tagCount = startTagCount(deps.objects, bucket, key, (await deps.buckets.require(bucket)).settings.tagsSetLater === true, ctx.clientGone);
  const version = await deps.objects.head(bucket, key, ctx.clientGone, bodyPrefetchOf(ctx));
  if (!version || version.deleted) throw new S3Error("NoSuchKey", undefined, { extra: { Key: key } });
  try {
    await answerGet(ctx, bucket, key, query, deps, version, tagCount);
  } finally {
    // A body that came with the answer and was not sent (304, 416, a failure on the way) is let go.
    deps.objects.release(version);
  }
}

/**
 * What a GET asks the first replica for together with its answer, so that an object is one round trip per
 * replica: the bytes the Range header names (the whole body without one). Not for HEAD, not when the answer
 * may well be a 304 or 412 (a conditional GET), and not for a suffix range (it needs the size first).
 */
function bodyPrefetchOf(ctx: S3Context): BodyPrefetch | undefined {
  if (ctx.method !== "GET") return undefined;
  if (CONDITIONAL_HEADERS.some((name) => ctx.get(name) !== "")) return undefined;
  const wanted = rangeBeforeSize(ctx.get("range") || undefined);
  if (wanted.kind === "needs-size") return undefined;
  return wanted.kind === "whole" ? {} : { range: { start: wanted.start, endInclusive: wanted.endInclusive } };
}

const CONDITIONAL_HEADERS = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"] as const;

async function answerGet(ctx: S3Context, bucket: string, key: string, query: URLSearchParams, deps: RouterAppDeps, version: ObjectVersion, tagCount: (version: ObjectVersion) => Promise<number>): Promise<void> {
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
  // S3 sends the count on GET and HEAD of an object that has tags, and no header for one without.
  const tags = await tagCount(version);
  if (tags > 0) ctx.set("x-amz-tagging-count", String(tags));
  for (const [parameter, header] of RESPONSE_OVERRIDES) {
    const value = query.get(parameter);
    if (value !== null) ctx.set(header, value);
  }
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
  const body = isManifestObject(version) ? await openManifestObject(deps.objects, version, wanted ?? { start: 0, endInclusive: size - 1 }, ctx.clientGone) : await deps.objects.open(version, wanted, ctx.clientGone);
  body.on("error", (error) => {
    // A client that went away destroys the body too; that is not a failed read.
    if (ctx.clientGone.aborted) deps.log.info("s3.client-aborted", { requestId: ctx.requestId, method: ctx.method, bucket, key, cause: describe(error) });
    else deps.log.error("s3.get-body-failed", { requestId: ctx.requestId, bucket, key, stamp: version.stamp, cause: describe(error) });
  });
  ctx.body = body;
}

async function deleteObject(bucket: string, key: string, deps: Handlers): Promise<void> {
  const previous = deps.multipart.previousVersion(bucket, key);
  // A multipart object's parts go with it (after the tombstone is committed, never before).
  deps.multipart.collectReplaced(previous, await deps.objects.remove(bucket, key));
}

async function deleteObjects(ctx: S3Context, bucket: string, payload: PayloadPlan, deps: Handlers): Promise<void> {
  await deps.buckets.require(bucket);
  // S3 requires an integrity check on a batch delete: a body damaged in transit must not delete other keys.
  requireIntegrityCheck(ctx);
  const parsed = parseDeleteObjects(await readSmallBody(ctx.req, payload, DELETE_OBJECTS_BYTES_MAX));
  if (!parsed.ok) throw parsed.error;
  const deleted: DeletedEntry[] = [];
  const errors: DeleteErrorEntry[] = [];
  await mapLimit(parsed.value.objects, 8, async ({ key, versionId }) => {
    const problem = validateObjectKey(key);
    if (problem) return void errors.push({ key, code: problem.code, message: problem.message });
    // Only the "null" version exists: deleting another (older) version id must not delete the current one.
    if (versionId !== undefined && versionId !== "null") return void errors.push({ key, versionId, code: "InvalidArgument", message: "Invalid version id specified" });
    try {
      await deleteObject(bucket, key, deps);
      deleted.push(versionId === undefined ? { key } : { key, versionId });
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

/** Query parameters that carry a signature or a session credential: never written to a log. */
const SECRET_PARAMETERS = /^(x-amz-signature|signature|x-amz-security-token|token)$/i;

/** The request URL as logs may show it: signature values of presigned URLs replaced by "REDACTED". */
export function redactedUrl(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const parts = url.slice(at + 1).split("&").map((part) => {
    const equals = part.indexOf("=");
    const name = equals < 0 ? part : part.slice(0, equals);
    return SECRET_PARAMETERS.test(decodeURIComponentSafe(name)) ? `${name}=REDACTED` : part;
  });
  return `${url.slice(0, at)}?${parts.join("&")}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.cause ? `${error.message} (cause: ${describe(error.cause)})` : error.message;
  // A core error value (a quorum failure with its nodes and failures): its fields, not "[object Object]".
  if (typeof error === "object" && error !== null) {
    try {
      const text = JSON.stringify(error);
      return text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
