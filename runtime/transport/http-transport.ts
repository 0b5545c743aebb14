// The client side of the node-internal HTTP API: the Transport port over undici, one pooled keep-alive Agent.
// Guarantees:
// - Every request is signed (hmac.ts) and encoded by wire.ts, the same module the server decodes with.
// - Failures come back typed, never thrown: connection refused/reset or an unknown node → "unreachable"; no
//   reply headers within timeoutMs → "timeout"; a node's own failure → the kind it reported.
// - timeoutMs bounds the wait for reply headers (counted once the request body is sent; a put gets one more
//   second per 50 MiB for the node's fsync), never a body that is flowing: a put body is cut (failure
//   "timeout") once bytes wait and the node has taken none for progressTimeoutMs (progress-deadline.ts), and a
//   reply body after bodyIdleTimeoutMs without a byte while the reader is asking for more. Both default to
//   REPLICA_PROGRESS_TIMEOUT_MS (5 s): a hung node costs a request seconds, not minutes.
// - A `get` (and a `read` whose reply carries bytes) resolves once the reply headers arrive, with the body as a Readable; a body that breaks midway
//   errors that stream (undici checks Content-Length), it never just ends early.
// - A request given a signal that aborts is cut at once, in flight or before it is sent (failure
//   "cancelled"); a get's reply body is cut too when the signal aborts while it streams.
// - No process-global state: each transport owns its Agent; close() ends its connections.
// Assumes: resolveAddress returns "host:port" (or an http:// origin) of the node's internal API.

import type { Readable } from "node:stream";
import { Agent } from "undici";
import type { NodeId } from "../../core/ids.ts";
import type { CancelSignal, Log, ReplicaRequest, ReplicaResponse, RequestKind, RequestOf, Transport, TransportFailure, TransportFailureKind } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";
import { assertUsableSecret, EMPTY_BODY_SHA256, REQUEST_META_HEADER, sha256Hex, signingHeaders, UNSIGNED_PAYLOAD } from "./hmac.ts";
import { REPLICA_PROGRESS_TIMEOUT_MS, watchProgress } from "./progress-deadline.ts";
import { JSON_RESPONSE_BYTES_MAX, OBJECTS_PATH, READ_PATH, VERSION_HEADER, decodeFailure, decodeReply, encodeRequestParams, pathOfKind, readAll } from "./wire.ts";

export interface HttpTransportOptions {
  readonly resolveAddress: (node: NodeId) => string | undefined;
  readonly secret: string;
  /** Longest wait for a reply's headers (and for a connection). */
  readonly timeoutMs: number;
  readonly log: Log;
  /** A reply body with no byte arriving for this long while the reader wants more is cut. */
  readonly bodyIdleTimeoutMs?: number;
  /** A put body the node takes no byte of for this long, while bytes wait, is cut. */
  readonly progressTimeoutMs?: number;
  /** Connections kept per node. */
  readonly connectionsPerNode?: number;
  /** The clock requests are signed with; Date.now by default. */
  readonly nowMs?: () => number;
}

export type HttpTransport = Transport<Readable> & {
  /** Lets requests in flight finish for up to graceMs (default 10 s), then cuts the connections. */
  close(graceMs?: number): Promise<void>;
};

const CONNECTIONS_PER_NODE_DEFAULT = 64;
const CANCELLED: TransportFailure = { kind: "cancelled", detail: "the sender gave the request up" };
const ERROR_BODY_BYTES_MAX = 64 * 1024;
const HEADER_BYTES_MAX = 64 * 1024;

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT", // no connection: the request never reached the node
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
]);
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  assertUsableSecret(options.secret);
  const { resolveAddress, secret, timeoutMs, log } = options;
  const nowMs = options.nowMs ?? Date.now;
  const bodyIdleTimeoutMs = options.bodyIdleTimeoutMs ?? REPLICA_PROGRESS_TIMEOUT_MS;
  const progressTimeoutMs = options.progressTimeoutMs ?? REPLICA_PROGRESS_TIMEOUT_MS;
  const agent = new Agent({
    connections: options.connectionsPerNode ?? CONNECTIONS_PER_NODE_DEFAULT,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: bodyIdleTimeoutMs,
    maxHeaderSize: HEADER_BYTES_MAX,
    connect: { timeout: timeoutMs },
  });

  async function send<K extends RequestKind>(to: NodeId, request: RequestOf<K, Readable>, signal?: CancelSignal): Promise<Result<ReplicaResponse<Readable>[K], TransportFailure>> {
    const result = await sendOnce(to, request, signal);
    // A put body this request did not finish reading is let go, so whoever feeds it (the router's tee) drops
    // this branch instead of waiting on it.
    const typed = request as ReplicaRequest<Readable>;
    if (typed.kind === "put" && !typed.body.destroyed && !typed.body.readableEnded) typed.body.destroy();
    return result;
  }

  async function sendOnce<K extends RequestKind>(to: NodeId, request: RequestOf<K, Readable>, signal: CancelSignal | undefined): Promise<Result<ReplicaResponse<Readable>[K], TransportFailure>> {
    if (signal?.aborted) return err(CANCELLED);
    const address = resolveAddress(to);
    if (address === undefined) return err({ kind: "unreachable", detail: `no address for node ${to}` });
    if (request.kind === "put" && (request as RequestOf<"put", Readable>).body.destroyed) {
      return err({ kind: "remote", detail: "request body was destroyed before it was sent" });
    }
    const origin = /^https?:\/\//.test(address) ? address : `http://${address}`;
    const typed = request as ReplicaRequest<Readable>;
    const call = encode(typed);
    const timestampMs = Math.floor(nowMs());
    const headers: Record<string, string> = {
      ...call.headers,
      ...signingHeaders(secret, {
        method: call.method,
        pathAndQuery: call.path,
        timestampMs,
        contentSha256: call.contentSha256,
        requestMeta: call.headers[REQUEST_META_HEADER] ?? "",
      }),
    };
    let bodyFailure: Error | null = null;
    // A put body that fails (the client's upload broke, or failed a digest) aborts the request at once:
    // undici does not always notice a body destroyed before it read it, and the node would wait for bytes.
    const abort = new AbortController();
    if (typed.kind === "put") {
      typed.body.once("error", (error) => {
        bodyFailure = error;
        abort.abort(error);
      });
    }

    // A put body is sent through a progress meter: a node that stops taking bytes is cut off in seconds.
    let stalledMs: number | null = null;
    const watch =
      typed.kind === "put"
        ? watchProgress(typed.body, progressTimeoutMs, (idleMs) => {
            stalledMs = idleMs;
            abort.abort(new Error(`node ${to} took no body bytes for ${idleMs} ms`));
          })
        : undefined;

    // The sender giving up (its client went away) cuts the request, and a get's reply body, on the wire.
    const onCancel = () => abort.abort(new Error("the request was cancelled"));
    signal?.addEventListener("abort", onCancel, { once: true });
    const stopListening = () => signal?.removeEventListener("abort", onCancel);

    let response: Awaited<ReturnType<Agent["request"]>>;
    try {
      response = await agent.request({ origin, path: call.path, method: call.method, headers, body: watch?.stream ?? call.body, headersTimeout: timeoutMs + call.syncAllowanceMs, signal: abort.signal });
    } catch (error) {
      watch?.stop();
      stopListening();
      if (signal?.aborted) return err(CANCELLED);
      if (bodyFailure !== null) return err({ kind: "remote", detail: `request body failed: ${messageOf(bodyFailure)}` });
      if (stalledMs !== null) {
        log.warn("transport.put-stalled", { to, idleMs: stalledMs, progressTimeoutMs });
        return err({ kind: "timeout", detail: `the node took no body bytes for ${stalledMs} ms (progress timeout ${progressTimeoutMs} ms)` });
      }
      return err(failureOfError(error, to));
    }
    watch?.stop();

    // Whoever gets a body may discard it unread (a store refusing a write destroys it), which undici reports
    // as an 'error' (RequestAbortedError): with nobody listening, that crashed a storage node in CI. Readers
    // still see every error through their own listeners (pipeline); this one only records it.
    response.body.on("error", (error) => log.debug("transport.body-error", { to, kind: typed.kind, detail: messageOf(error) }));
    let bodyHandedOn = false;
    try {
      if (response.statusCode !== 200) return err(await failureOfReply(response.statusCode, response.body));
      if (typed.kind === "get") {
        const decoded = decodeReply(typed.kind, headerValue(response.headers[VERSION_HEADER]), response.body as Readable);
        if (!decoded.ok) {
          response.body.destroy();
          return err({ kind: "remote", detail: decoded.error });
        }
        // The body outlives this call: the signal may still cut it while it streams.
        bodyHandedOn = true;
        response.body.once("close", stopListening);
        return decoded as Result<ReplicaResponse<Readable>[K], never>;
      }
      if (typed.kind === "read") {
        const decoded = decodeReply(typed.kind, headerValue(response.headers[VERSION_HEADER]), response.body as Readable);
        if (!decoded.ok) {
          response.body.destroy();
          return err({ kind: "remote", detail: decoded.error });
        }
        if (decoded.value.body === undefined) {
          // A head answer only: the reply has no bytes, read the (empty) body so the connection is reused.
          const rest = await readAll(response.body, ERROR_BODY_BYTES_MAX);
          if (!rest.ok) return err({ kind: "remote", detail: `read reply ${rest.error}` });
        } else {
          bodyHandedOn = true;
          response.body.once("close", stopListening);
        }
        return decoded as Result<ReplicaResponse<Readable>[K], never>;
      }
      const bytes = await readAll(response.body, JSON_RESPONSE_BYTES_MAX);
      if (!bytes.ok) return err({ kind: "remote", detail: `reply ${bytes.error}` });
      const decoded = decodeReply<K, Readable>(typed.kind as K, bytes.value.toString("utf8"));
      return decoded.ok ? decoded : err({ kind: "remote", detail: decoded.error });
    } catch (error) {
      response.body.destroy();
      return err(signal?.aborted ? CANCELLED : failureOfError(error, to));
    } finally {
      if (!bodyHandedOn) stopListening();
    }
  }

  return {
    send,
    async close(graceMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<"cut">((resolve) => (timer = setTimeout(() => resolve("cut"), graceMs)));
      const outcome = await Promise.race([agent.close().then(() => "closed" as const), cut]);
      clearTimeout(timer);
      if (outcome === "cut") await agent.destroy();
    },
  };

  function failureOfError(error: unknown, to: NodeId): TransportFailure {
    const failure = classify(error);
    log.debug("transport.failure", { to, kind: failure.kind, detail: failure.detail });
    return failure;
  }
}

interface EncodedCall {
  readonly method: "PUT" | "GET" | "POST";
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Readable | string | undefined;
  readonly contentSha256: string;
  /** Extra wait for reply headers: a put is answered after the node fsyncs the body, which takes time by size. */
  readonly syncAllowanceMs: number;
}

/** The slowest fsync rate we allow for before calling a put's reply late: 5 GiB gets about 100 s more. */
const SYNC_BYTES_PER_SECOND_MIN = 50 * 1024 * 1024;

function encode(request: ReplicaRequest<Readable>): EncodedCall {
  switch (request.kind) {
    case "put":
      return {
        method: "PUT",
        path: OBJECTS_PATH,
        headers: {
          [REQUEST_META_HEADER]: encodeRequestParams(request),
          "content-type": "application/octet-stream",
          "content-length": String(request.header.size),
        },
        body: request.body,
        contentSha256: UNSIGNED_PAYLOAD,
        syncAllowanceMs: Math.ceil((request.header.size / SYNC_BYTES_PER_SECOND_MIN) * 1000),
      };
    case "get":
    case "read":
      return { method: "GET", path: request.kind === "get" ? OBJECTS_PATH : READ_PATH, headers: { [REQUEST_META_HEADER]: encodeRequestParams(request) }, body: undefined, contentSha256: EMPTY_BODY_SHA256, syncAllowanceMs: 0 };
    default: {
      const json = encodeRequestParams(request);
      return { method: "POST", path: pathOfKind(request.kind), headers: { "content-type": "application/json" }, body: json, contentSha256: sha256Hex(json), syncAllowanceMs: 0 };
    }
  }
}

async function failureOfReply(statusCode: number, body: Readable): Promise<TransportFailure> {
  const bytes = await readAll(body, ERROR_BODY_BYTES_MAX);
  return decodeFailure(statusCode, bytes.ok ? bytes.value.toString("utf8") : undefined);
}

function classify(error: unknown): TransportFailure {
  const code = codeOf(error);
  const detail = `${code ?? "error"}: ${messageOf(error)}`;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: "timeout", detail };
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return { kind: "unreachable", detail };
  return { kind: "remote", detail };
}

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
