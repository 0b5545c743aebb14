// The server side of the node-internal HTTP API: a Koa app that decodes each route (wire.ts) back into a
// ReplicaRequest, hands it to `handle` (the storage node's core logic), and encodes the reply.
// Guarantees:
// - The HMAC (hmac.ts) is checked first, from headers alone: a request without a valid signature gets 403
//   {kind:"forbidden"} and its body is never read (the connection is closed instead of drained).
// - JSON request bodies are capped at 1 MiB and must hash to the SHA-256 the signature covers.
// - A `get` reply (and a `read` reply with bytes) streams the body with its Content-Length; a body that fails midway (a block failing its
//   checksum, a disk error) or delivers a different length destroys the connection, so the reader sees an error,
//   never a short body that looks complete.
// - No process-global state: several servers can run in one process.
// Assumes: `handle` never throws for expected failures (it returns them); a throw is logged and becomes 500.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough, Transform, finished, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Router, { type RouterContext } from "@koa/router";
import Koa from "koa";
import type { Log, LogFields, ReplicaResponse, RequestKind, RequestOf, TransportFailure } from "../../core/ports.ts";
import type { Result } from "../../core/result.ts";
import { assertUsableSecret, REQUEST_META_HEADER, sha256Hex, UNSIGNED_PAYLOAD, verifySignature } from "./hmac.ts";
import {
  JSON_KINDS,
  JSON_REQUEST_BYTES_MAX,
  OBJECTS_PATH,
  READ_PATH,
  VERSION_HEADER,
  bodyLengthOf,
  decodeRequestParams,
  encodeFailure,
  encodeReply,
  pathOfKind,
  readAll,
  readReplyBodyLength,
  statusOfFailure,
} from "./wire.ts";

/** What the storage node's core logic offers the server: one request in, one typed result out. */
export type ReplicaHandler = <K extends RequestKind>(request: RequestOf<K, Readable>) => Promise<Result<ReplicaResponse<Readable>[K], TransportFailure>>;

export interface ReplicaAppOptions {
  readonly secret: string;
  readonly handle: ReplicaHandler;
  readonly log: Log;
  /** The clock signatures are checked against; Date.now by default. */
  readonly nowMs?: () => number;
}

export interface ReplicaServerOptions extends ReplicaAppOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A connection with no bytes moving either way for this long is closed (a stalled peer). */
  readonly idleTimeoutMs?: number;
  /** Adds routes (e.g. /-/health, /-/metrics) to the same router; they are not signature-checked. */
  readonly configure?: (router: Router, app: Koa) => void;
}

export interface ReplicaServer {
  readonly port: number;
  /** Stops accepting, lets requests in flight finish for up to graceMs (default 10 s), then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

const IDLE_TIMEOUT_MS_DEFAULT = 120_000;
const HEADER_BYTES_MAX = 64 * 1024;

type Ctx = RouterContext;

/** The Koa app and router of the internal API; add routes to `router` before listening. */
export function createReplicaApp(options: ReplicaAppOptions): { app: Koa; router: Router } {
  assertUsableSecret(options.secret);
  const { secret, handle, log } = options;
  const nowMs = options.nowMs ?? Date.now;
  const app = new Koa();
  const router = new Router();
  app.on("error", (error: Error) => log.error("replica-server.error", { detail: `${error.name}: ${error.message}` }));

  /** Signature check from headers alone; on failure answer 403 and close the connection unread. */
  const authenticate = async (ctx: Ctx, next: () => Promise<unknown>): Promise<void> => {
    const verified = verifySignature(secret, { method: ctx.method, pathAndQuery: ctx.originalUrl, header: (name) => ctx.get(name) || undefined }, nowMs());
    if (!verified.ok) {
      log.warn("replica-server.forbidden", { method: ctx.method, path: ctx.path, remote: ctx.ip, detail: verified.error });
      refuse(ctx, { kind: "forbidden", detail: verified.error });
      return;
    }
    ctx.state.contentSha256 = verified.value.contentSha256;
    await next();
  };

  router.put(OBJECTS_PATH, authenticate, async (ctx) => {
    if (ctx.state.contentSha256 !== UNSIGNED_PAYLOAD) return refuse(ctx, { kind: "remote", detail: "a put body is streamed: content hash must be UNSIGNED-PAYLOAD" }, 400);
    const decoded = decodeRequestParams("put", ctx.get(REQUEST_META_HEADER) || undefined, detachableBody(ctx.req));
    if (!decoded.ok) return refuse(ctx, { kind: "remote", detail: decoded.error }, 400);
    const result = await callHandler(handle, decoded.value as RequestOf<"put", Readable>, log);
    // A put answered before its whole body was read (a refusal, or a version already held): close the
    // connection rather than drain what is left.
    if (!ctx.req.readableEnded) ctx.set("Connection", "close");
    reply(ctx, "put", result);
  });

  router.get(OBJECTS_PATH, authenticate, async (ctx) => {
    const decoded = decodeRequestParams<Readable>("get", ctx.get(REQUEST_META_HEADER) || undefined);
    if (!decoded.ok) return refuse(ctx, { kind: "remote", detail: decoded.error }, 400);
    const request = decoded.value as RequestOf<"get", Readable>;
    const result = await callHandler(handle, request, log);
    if (!result.ok) return reply(ctx, "get", result);
    const { version, body } = result.value;
    await streamReply(ctx, encodeReply("get", result.value), body, bodyLengthOf(version.size, request.range), { bucket: request.bucket, key: request.key, stamp: request.stamp }, log);
  });

  router.get(READ_PATH, authenticate, async (ctx) => {
    const decoded = decodeRequestParams<Readable>("read", ctx.get(REQUEST_META_HEADER) || undefined);
    if (!decoded.ok) return refuse(ctx, { kind: "remote", detail: decoded.error }, 400);
    const request = decoded.value as RequestOf<"read", Readable>;
    const result = await callHandler(handle, request, log);
    if (!result.ok) return reply(ctx, "read", result);
    const where = { bucket: request.bucket, key: request.key, stamp: result.value.version?.stamp };
    await streamReply(ctx, encodeReply("read", result.value), result.value.body?.bytes, readReplyBodyLength(result.value), where, log);
  });

  for (const kind of JSON_KINDS) {
    router.post(pathOfKind(kind), authenticate, async (ctx) => {
      const bytes = await readAll(ctx.req, JSON_REQUEST_BYTES_MAX);
      if (!bytes.ok) return refuse(ctx, { kind: "remote", detail: `request ${bytes.error}` }, 413);
      if (sha256Hex(bytes.value) !== ctx.state.contentSha256) return refuse(ctx, { kind: "forbidden", detail: "body does not match its signed hash" });
      const decoded = decodeRequestParams<Readable>(kind, bytes.value.toString("utf8"));
      if (!decoded.ok) return refuse(ctx, { kind: "remote", detail: decoded.error }, 400);
      reply(ctx, kind, await callHandler(handle, decoded.value as RequestOf<typeof kind, Readable>, log));
    });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router };
}

/** Starts the internal API on host:port; resolves once it listens. */
export async function startReplicaServer(options: ReplicaServerOptions): Promise<ReplicaServer> {
  const { app, router } = createReplicaApp(options);
  options.configure?.(router, app);
  const server = createServer({ maxHeaderSize: HEADER_BYTES_MAX }, app.callback());
  // Bodies of GiBs take as long as they take; a stalled connection is cut by the idle timeout instead.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.timeout = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS_DEFAULT;
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  options.log.info("replica-server.listening", { host: options.host, port });
  return { port, close: (graceMs = 10_000) => closeServer(server, graceMs) };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cutAfter = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cutAfter);
      resolve();
    });
    server.closeIdleConnections();
  });
}

async function callHandler<K extends RequestKind>(handle: ReplicaHandler, request: RequestOf<K, Readable>, log: Log): Promise<Result<ReplicaResponse<Readable>[K], TransportFailure>> {
  try {
    return await handle(request);
  } catch (error) {
    log.error("replica-server.handler-threw", { kind: request.kind, detail: messageOf(error) });
    return { ok: false, error: { kind: "remote", detail: `handler failed: ${messageOf(error)}` } };
  }
}

/**
 * A 200 whose answer travels in VERSION_HEADER and whose bytes (none: an empty body) stream with their
 * Content-Length. A body that fails or runs short cuts the connection: the reader sees an error, not a short body.
 */
async function streamReply(ctx: Ctx, answer: string, body: Readable | undefined, length: number, where: LogFields, log: Log): Promise<void> {
  ctx.respond = false;
  ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(length), [VERSION_HEADER]: answer });
  if (body === undefined) {
    ctx.res.end();
    return;
  }
  try {
    await pipeline(body, exactLength(length), ctx.res);
  } catch (error) {
    ctx.res.destroy();
    body.destroy();
    const fields = { ...where, detail: messageOf(error) };
    // A reader that went away is routine; a body that failed on this side (disk, checksum) is not.
    if ((error as { code?: unknown }).code === "ERR_STREAM_PREMATURE_CLOSE") log.debug("replica-server.get-reader-gone", fields);
    else log.warn("replica-server.get-body-failed", fields);
  }
}

/** A JSON reply (or failure) as wire.ts encodes it: the same text the simulated network carries. */
function reply<K extends RequestKind>(ctx: Ctx, kind: K, result: Result<ReplicaResponse<Readable>[K], TransportFailure>): void {
  if (!result.ok) return sendFailure(ctx, encodeFailure(result.error));
  ctx.status = 200;
  ctx.type = "application/json";
  ctx.body = encodeReply(kind, result.value);
}

function sendFailure(ctx: Ctx, encoded: { status: number; text: string }): void {
  ctx.status = encoded.status;
  ctx.type = "application/json";
  ctx.body = encoded.text;
}

function refuse(ctx: Ctx, failure: TransportFailure, status = statusOfFailure(failure.kind)): void {
  sendFailure(ctx, encodeFailure(failure, status));
  if (!ctx.req.readableEnded) ctx.set("Connection", "close");
}

/**
 * The request body as a stream the handler may consume, abandon or destroy without cutting the socket
 * before the reply is written. A client that goes away mid-body errors it.
 */
function detachableBody(req: IncomingMessage): Readable {
  const body = new PassThrough({ highWaterMark: 256 * 1024 });
  req.pipe(body);
  finished(req, (error) => {
    if (error) body.destroy(error);
  });
  return body;
}

/** Passes bytes through, failing if they run past or stop short of `length`. */
function exactLength(length: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > length) callback(new Error(`body runs past its ${length} B`));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === length ? null : new Error(`body ended at ${seen} of ${length} B`));
    },
  });
}

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
