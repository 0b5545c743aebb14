// The simulated network: request/response between processes with latency, loss, and partitions.
// Guarantees: a request reaches its receiver only if the receiver is up and the link from sender to receiver
// is open when the request arrives; its response reaches the sender only if the reverse link is open and the
// sender's incarnation is still up; a request to a down process fails "unreachable" after one round trip;
// any request with no answer fails "timeout" after the timeout; every draw comes from the network's own RNG
// stream, so the same seed gives the same deliveries. Partitions are directed (one-way) blocks; a symmetric
// partition blocks both directions. A request whose signal aborts settles "cancelled" at once; one not yet
// arrived is dropped on the way (never delivered), one being handled has its reply dropped. A paused
// receiver handles what reached it once it resumes, and a paused sender hears its answers then. A get reply's
// body may be damaged on the way back (replyCorruptProbability), as a put's may on the way there.
// Every request and reply crosses as the runtime's transport carries it (runtime/transport/wire.ts): parameters
// as the header or JSON text, decoded by the same decoders on the receiving side, replies and failures as their
// JSON (a get reply's version as its header text). Only bodies cross as values (sim/body.ts). A request or reply
// that core built and the codec refuses is a bug: it is answered as the runtime would answer it, and it fails
// the run.
// Assumes: handlers never hold on to request objects across crashes.

import { AssertionError, assert } from "../core/assert.ts";
import type { NodeId } from "../core/ids.ts";
import type { CancelSignal, ReplicaRequest, ReplicaResponse, RequestKind, RequestOf, Transport, TransportFailure } from "../core/ports.ts";
import { type Result, err, ok } from "../core/result.ts";
import { decodeFailure, decodeReply, decodeRequestParams, encodeFailure, encodeReply, encodeRequestParams } from "../runtime/transport/wire.ts";
import { type SimBody, flipped } from "./body.ts";
import type { EventLoop } from "./event-loop.ts";
import type { SimProcess } from "./process.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

export interface NetworkSettings {
  /** Minimum one-way latency. */
  readonly latencyMsMin: number;
  /** Mean of the exponential part of one-way latency. */
  readonly latencyMsMean: number;
  /** Probability that a message takes 20x longer (a congested queue, a retransmit). */
  readonly tailProbability: number;
  /** Bytes per ms a body moves at (1,000,000 = 1 GB/s). */
  readonly bytesPerMs: number;
  /** Probability that one message (request or response) is lost. */
  readonly lossProbability: number;
  /** Probability that a body is damaged on the wire (the receiver's checksum catches it). */
  readonly bodyCorruptProbability: number;
  /** Probability that the body of a get reply is damaged on its way back to the reader. */
  readonly replyCorruptProbability: number;
  /** A request with no response fails "timeout" after this plus twice its body's transfer time. */
  readonly requestTimeoutMs: number;
}

export const defaultNetwork: NetworkSettings = {
  latencyMsMin: 0.1,
  latencyMsMean: 0.4,
  tailProbability: 0.01,
  bytesPerMs: 1_000_000,
  lossProbability: 0,
  bodyCorruptProbability: 0,
  replyCorruptProbability: 0,
  requestTimeoutMs: 1_000,
};

export type Handler = (from: NodeId, request: ReplicaRequest<SimBody>) => Promise<Result<unknown, TransportFailure>>;

interface Endpoint {
  readonly process: SimProcess;
  handler: Handler | undefined;
}

export interface NetworkCounters {
  requests: number;
  lost: number;
  blocked: number;
  unreachable: number;
  timeouts: number;
  /** Requests or replies the wire codec refused (each also fails the run). */
  refusedByCodec: number;
  /** Requests their sender gave up (signal aborted) before the answer came. */
  cancelled: number;
}

export class SimNetwork {
  private readonly endpoints = new Map<NodeId, Endpoint>();
  /** Directed blocked links, "from>to". */
  private readonly blocked = new Set<string>();
  settings: NetworkSettings;
  readonly counters: NetworkCounters = { requests: 0, lost: 0, blocked: 0, unreachable: 0, timeouts: 0, refusedByCodec: 0, cancelled: 0 };
  /** Requests sent, by kind (insertion order is first use, so deterministic). */
  readonly byKind = new Map<string, number>();
  /** Trace every message (costly); otherwise only failures are traced. */
  traceMessages = false;

  constructor(
    private readonly loop: EventLoop,
    private readonly rng: SimRng,
    private readonly trace: Trace,
    settings: NetworkSettings,
  ) {
    this.settings = settings;
  }

  attach(process: SimProcess): void {
    assert(!this.endpoints.has(process.id), () => `process ${process.id} attached twice`);
    this.endpoints.set(process.id, { process, handler: undefined });
  }

  /** Install the request handler of the process's current incarnation. */
  serve(id: NodeId, handler: Handler): void {
    const endpoint = this.endpoints.get(id);
    assert(endpoint !== undefined, () => `serve: unknown process ${id}`);
    endpoint.handler = handler;
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  unblock(from: NodeId, to: NodeId): void {
    this.blocked.delete(`${from}>${to}`);
  }

  healAll(): void {
    this.blocked.clear();
  }

  get blockedLinks(): number {
    return this.blocked.size;
  }

  isOpen(from: NodeId, to: NodeId): boolean {
    return this.blocked.size === 0 || !this.blocked.has(`${from}>${to}`);
  }

  transportFor(process: SimProcess): Transport<SimBody> {
    const network = this;
    return {
      send<K extends RequestKind>(to: NodeId, request: RequestOf<K, SimBody>, signal?: CancelSignal): Promise<Result<ReplicaResponse<SimBody>[K], TransportFailure>> {
        return network.send(process, to, request, signal) as Promise<Result<ReplicaResponse<SimBody>[K], TransportFailure>>;
      },
    };
  }

  private latencyMs(bytes: number): number {
    const s = this.settings;
    let latency = s.latencyMsMin + this.rng.exponential(s.latencyMsMean);
    if (this.rng.chance(s.tailProbability)) latency *= 20;
    return latency + bytes / s.bytesPerMs;
  }

  private send(sender: SimProcess, to: NodeId, request: ReplicaRequest<SimBody>, signal?: CancelSignal): Promise<Result<unknown, TransportFailure>> {
    return new Promise((resolve) => {
      if (!sender.up) return; // a dead incarnation sends nothing and hears nothing
      if (signal?.aborted) {
        this.counters.cancelled += 1;
        resolve(err({ kind: "cancelled", detail: `${request.kind} to ${to} given up before it was sent` }));
        return;
      }
      const incarnation = sender.incarnation;
      const from = sender.id;
      this.counters.requests += 1;
      this.byKind.set(request.kind, (this.byKind.get(request.kind) ?? 0) + 1);
      const bytes = request.kind === "put" ? request.body.size : 0;
      let settled = false;
      const settle = (result: Result<unknown, TransportFailure>): void => {
        if (settled) return;
        settled = true;
        timeout.cancelled = true;
        signal?.removeEventListener("abort", onCancel);
        sender.whenAwake(incarnation, () => resolve(result));
      };
      const onCancel = (): void => {
        if (settled) return;
        this.counters.cancelled += 1;
        this.trace.add(`net cancel ${from}>${to} ${describe(request)}`);
        settle(err({ kind: "cancelled", detail: `${request.kind} to ${to} given up` }));
      };
      const timeout = this.loop.after(this.settings.requestTimeoutMs + (2 * bytes) / this.settings.bytesPerMs, () => {
        if (settled) return;
        this.counters.timeouts += 1;
        this.trace.add(`net timeout ${from}>${to} ${describe(request)}`);
        settle(err({ kind: "timeout", detail: `${to} did not answer ${request.kind}` }));
      });
      signal?.addEventListener("abort", onCancel, { once: true });
      if (this.traceMessages) this.trace.add(`net send ${from}>${to} ${describe(request)}`);
      // Encoded as it leaves: the text is what travels, whatever the sender does with its objects afterwards.
      const params = encodeRequestParams(request);
      if (this.rng.chance(this.settings.lossProbability)) {
        this.counters.lost += 1;
        return;
      }
      const arrival = this.latencyMs(bytes);
      this.loop.after(arrival, () => {
        if (settled && signal?.aborted) return; // given up on the way: the receiver never sees it
        if (!this.isOpen(from, to)) {
          this.counters.blocked += 1;
          return;
        }
        const endpoint = this.endpoints.get(to);
        if (endpoint === undefined || !endpoint.process.up || endpoint.handler === undefined) {
          // Connection refused: the sender learns it one trip later.
          this.counters.unreachable += 1;
          this.loop.after(this.latencyMs(0), () => {
            if (this.isOpen(to, from)) settle(err({ kind: "unreachable", detail: `${to} is down` }));
          });
          return;
        }
        const receiver = endpoint.process;
        const receiverIncarnation = receiver.incarnation;
        const handler = endpoint.handler;
        let body = request.kind === "put" ? request.body : undefined;
        if (body !== undefined && this.rng.chance(this.settings.bodyCorruptProbability)) {
          body = flipped(body, `wire${this.loop.nowMs}`);
          this.trace.add(`net corrupt-body ${from}>${to} ${describe(request)}`);
        }
        const delivered = decodeRequestParams(request.kind, params, body);
        // A paused receiver reads the message when it resumes (the kernel queued it).
        receiver.whenAwake(receiverIncarnation, () => {
          const handled = delivered.ok ? handler(from, delivered.value) : Promise.resolve(err(this.refused(`${from}>${to} ${describe(request)}: ${delivered.error}`)));
          handled.then(
            (answer) => {
              let result = this.replyOverTheWire(request.kind, answer, `${to}>${from} reply to ${describe(request)}`);
              if (!receiver.isCurrent(receiverIncarnation)) return; // the answer dies with the receiver
              const replyBody = result.ok ? bodyOfReply(request.kind, result.value) : undefined;
              if (replyBody !== undefined && this.settings.replyCorruptProbability > 0 && this.rng.chance(this.settings.replyCorruptProbability)) {
                // Bytes damaged on the way back: the reader's check must catch them and ask another replica.
                result = ok(withReplyBody(request.kind, (result as { value: unknown }).value, flipped(replyBody, `wire-reply${this.loop.nowMs}`)));
                this.trace.add(`net corrupt-reply ${to}>${from} ${describe(request)}`);
              }
              if (this.rng.chance(this.settings.lossProbability)) {
                this.counters.lost += 1;
                return;
              }
              const replyBytes = replyBody?.size ?? 0;
              this.loop.after(this.latencyMs(replyBytes), () => {
                if (!this.isOpen(to, from)) {
                  this.counters.blocked += 1;
                  return;
                }
                settle(result);
              });
            },
            (error: unknown) => this.loop.fail(error),
          );
        });
      });
    });
  }

  /** A reply as the sender decodes it from the text the runtime's server would send (http-server.ts). */
  private replyOverTheWire(kind: RequestKind, answer: Result<unknown, TransportFailure>, what: string): Result<unknown, TransportFailure> {
    if (!answer.ok) {
      const failure = encodeFailure(answer.error);
      return err(decodeFailure(failure.status, failure.text));
    }
    const text = encodeReply(kind, answer.value as never);
    const decoded = decodeReply(kind, text, bodyOfReply(kind, answer.value));
    if (decoded.ok) return decoded;
    // The runtime's client turns an undecodable reply into a "remote" failure (http-transport.ts).
    return err(this.refused(`${what}: ${decoded.error}`));
  }

  /** A message core built that the codec refuses: the "remote" failure the runtime answers with, and a failed run. */
  private refused(what: string): TransportFailure {
    this.counters.refusedByCodec += 1;
    this.trace.add(`net refused-by-codec ${what}`);
    this.loop.fail(new AssertionError(`the wire codec refused a message core built: ${what}`));
    return { kind: "remote", detail: what };
  }
}

/** The bytes a reply carries beside its text: a get's body, a read's body when it came with one. */
function bodyOfReply(kind: RequestKind, value: unknown): SimBody | undefined {
  if (kind === "get") return (value as ReplicaResponse<SimBody>["get"]).body;
  if (kind === "read") return (value as ReplicaResponse<SimBody>["read"]).body?.bytes;
  return undefined;
}

/** The same reply with other bytes (damaged on the wire). */
function withReplyBody(kind: RequestKind, value: unknown, bytes: SimBody): unknown {
  if (kind === "get") return { ...(value as ReplicaResponse<SimBody>["get"]), body: bytes };
  const read = value as ReplicaResponse<SimBody>["read"];
  return { ...read, body: { ...read.body, bytes } };
}

export function describe(request: ReplicaRequest<SimBody>): string {
  switch (request.kind) {
    case "put":
      return `put p${request.partition} ${request.header.bucket}/${request.header.key}@${request.header.stamp}${request.hintFor ? ` hint=${request.hintFor}` : ""}`;
    case "commit":
      return `commit p${request.partition} ${request.version.bucket}/${request.version.key}@${request.version.stamp}`;
    case "head":
      return `head p${request.partition} ${request.bucket}/${request.key}`;
    case "read":
      return `read p${request.partition} ${request.bucket}/${request.key}`;
    case "get":
      return `get p${request.partition} ${request.bucket}/${request.key}@${request.stamp}`;
    case "drop":
      return `drop p${request.partition} ${request.bucket}/${request.key}@${request.stamp}`;
    case "list-partition":
      return `list-partition p${request.partition}`;
    case "digest":
      return `digest p${request.partition}`;
    case "list-bucket":
      return `list-bucket ${request.bucket}`;
    case "heartbeat":
      return `heartbeat e${request.epoch}`;
    case "buckets":
      return `buckets ${request.entries.length}`;
    case "get-map":
      return "get-map";
    case "install-map":
      return `install-map e${request.map.epoch}`;
    default:
      return (request as { kind: string }).kind;
  }
}
