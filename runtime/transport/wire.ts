// The HTTP encoding of the node-internal API (core/ports.ts ReplicaRequest/ReplicaResponse), shared by the
// client (http-transport.ts), the server (http-server.ts) and the simulated network (sim/network.ts), so the
// three cannot drift apart and the simulator runs the codec that real processes run.
// Guarantees: every request kind has exactly one route; a request or reply that decodes has the field types its
// kind declares (strings, safe non-negative integers, version stamps, cursors of a known kind), so the handler
// and core never see malformed input; whatever core can build, encode then decode gives back (test/runtime/
// wire-roundtrip.test.ts). Bodies are not the codec's business: each side passes them beside the text.
//   put  → PUT  /v1/objects  parameters in REQUEST_META_HEADER (base64url JSON), body streamed (Content-Length)
//   get  → GET  /v1/objects  parameters in REQUEST_META_HEADER; the reply streams the bytes, its version in VERSION_HEADER
//   read → GET  /v1/read     parameters in REQUEST_META_HEADER; the reply's head answer in VERSION_HEADER (naming
//                            the bytes when a body follows), the bytes streamed when it does (else none)
//   else → POST /v1/<kind>   JSON body: the request without `kind`
//   replies: 200 with JSON (or the stream), or a failure status with JSON {kind, detail}.
// Assumes: both sides run the same version of this file (a rolling upgrade would add /v2 routes).

import { isStamp } from "../../core/version.ts";
import { BUCKET_ENTRIES_MAX, BUCKET_SETTINGS_CHARS_MAX, BUCKET_STATES, type BucketEntry } from "../../core/bucket-table.ts";
import { type ClusterMap, validateClusterMap } from "../../core/cluster-map.ts";
import type { ForeignReport } from "../../core/foreign-holdings.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type {
  ByteRange,
  DigestAnswer,
  PartitionCursor,
  PartitionEntry,
  ReplicaRequest,
  ReplicaResponse,
  RequestKind,
  RequestOf,
  TransportFailure,
  TransportFailureKind,
  VersionHeader,
} from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";

export const OBJECTS_PATH = "/v1/objects";
export const READ_PATH = "/v1/read";
export const VERSION_HEADER = "x-ringstore-version";
export const JSON_REQUEST_BYTES_MAX = 1024 * 1024;
/** A reply of list-partition or list-bucket at its largest page; anything bigger is refused. */
export const JSON_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
/** The largest page a list request may ask for. */
export const LIST_LIMIT_MAX = 100_000;
/** Keys, buckets and other strings in requests: S3 keys are at most 1024 bytes; leave room, but bound it. */
const STRING_CHARS_MAX = 4096;
const USER_META_ENTRIES_MAX = 256;

/** Kinds whose parameters travel in REQUEST_META_HEADER (base64url JSON) and whose replies may stream bytes. */
type StreamKind = "put" | "get" | "read";

export const pathOfKind = (kind: Exclude<RequestKind, StreamKind>): string => `/v1/${kind}`;

export const JSON_KINDS = ["commit", "head", "drop", "list-partition", "digest", "digests", "list-bucket", "heartbeat", "buckets", "get-map", "install-map"] as const satisfies readonly Exclude<RequestKind, StreamKind>[];

const STATUS_OF_KIND: Record<TransportFailureKind, number> = {
  unreachable: 502,
  timeout: 504,
  "not-caught-up": 503,
  corrupt: 500,
  "checksum-mismatch": 409,
  "disk-full": 507,
  "not-found": 404,
  forbidden: 403,
  "stale-epoch": 421,
  // Never sent by a node: the sender gave up. 499 is what proxies log for a client that closed the request.
  cancelled: 499,
  remote: 500,
};

export const statusOfFailure = (kind: TransportFailureKind): number => STATUS_OF_KIND[kind];

export const isFailureKind = (value: unknown): value is TransportFailureKind => typeof value === "string" && Object.hasOwn(STATUS_OF_KIND, value);

export function encodeMeta(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

const META_CHARS_MAX = 64 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function decodeMeta(text: string | undefined): Result<unknown, string> {
  if (text === undefined || text.length === 0) return err(`missing request parameters`);
  if (text.length > META_CHARS_MAX || !BASE64URL.test(text)) return err(`malformed request parameters`);
  return parseJson(Buffer.from(text, "base64url").toString("utf8"), "request parameters are not JSON");
}

function parseJson(text: string, notJson: string): Result<unknown, string> {
  try {
    return ok(JSON.parse(text));
  } catch {
    return err(notJson);
  }
}

// ---- decoding: from untrusted JSON to typed requests and replies ----
// One decoder per field of every request and reply kind. The field lists are typed against core/ports.ts, so a
// field added to a request or reply there fails the typecheck here until it is decoded (and is never dropped
// silently).

const INVALID = Symbol("invalid");
type Decoder = (value: unknown) => unknown;

const str: Decoder = (v) => (typeof v === "string" && v.length <= STRING_CHARS_MAX ? v : INVALID);
const count: Decoder = (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : INVALID);
const bool: Decoder = (v) => (typeof v === "boolean" ? v : INVALID);
const stamp: Decoder = (v) => (typeof v === "string" && isStamp(v) ? v : INVALID);
const limit: Decoder = (v) => (count(v) !== INVALID && (v as number) >= 1 && (v as number) <= LIST_LIMIT_MAX ? v : INVALID);
const literal =
  (...allowed: readonly unknown[]): Decoder =>
  (v) =>
    allowed.includes(v) ? v : INVALID;
const nullable =
  (decode: Decoder): Decoder =>
  (v) =>
    v === null ? null : decode(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const userMeta: Decoder = (v) => {
  if (!isRecord(v)) return INVALID;
  const entries = Object.entries(v);
  if (entries.length > USER_META_ENTRIES_MAX) return INVALID;
  for (const [k, x] of entries) if (str(k) === INVALID || str(x) === INVALID) return INVALID;
  // fromEntries defines own properties: a key named "__proto__" stays a key (an assignment would drop it).
  return Object.fromEntries(entries);
};

/** An array of at most `lengthMax` items, each decoded. */
function arrayOf(decode: Decoder, lengthMax: number): Decoder {
  return (v) => {
    if (!Array.isArray(v) || v.length > lengthMax) return INVALID;
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = decode(v[i]);
      if (item === INVALID) return INVALID;
      out[i] = item;
    }
    return out;
  };
}

/** Decodes an object with exactly the fields of T (extra fields are dropped); `optional` may be absent. */
function object<T>(fields: { readonly [F in keyof T]-?: Decoder }, optional: readonly (keyof T)[] = []): Decoder {
  // Built once per decoder, not per value: the simulator decodes every message of every run.
  const names = Object.keys(fields);
  const decoders = names.map((name) => (fields as Record<string, Decoder>)[name]!);
  const mayBeAbsent = names.map((name) => optional.includes(name as keyof T));
  return (value) => {
    if (!isRecord(value)) return INVALID;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const raw = value[names[i]!];
      if (raw === undefined && mayBeAbsent[i]) continue;
      const decoded = decoders[i]!(raw);
      if (decoded === INVALID) return INVALID;
      out[names[i]!] = decoded;
    }
    return out;
  };
}

const headerFields = { bucket: str, key: str, stamp, size: count, contentType: str, userMeta, deleted: bool };
const versionHeader = object<VersionHeader>(headerFields);
const objectVersion = object<ObjectVersion>({ ...headerFields, etag: str, checksum: str });

/**
 * A cursor is decoded strictly: a known kind with exactly its fields, so "key-start" can never arrive carrying
 * a stamp that someone might read, nor "after" without a real one.
 */
const CURSOR_FIELDS: { readonly [K in PartitionCursor["kind"]]: readonly string[] } = { "key-start": ["kind", "bucket", "key"], after: ["kind", "bucket", "key", "stamp"] };
const cursorOf = {
  "key-start": object<Extract<PartitionCursor, { kind: "key-start" }>>({ kind: literal("key-start"), bucket: str, key: str }),
  after: object<Extract<PartitionCursor, { kind: "after" }>>({ kind: literal("after"), bucket: str, key: str, stamp }),
};
const cursor: Decoder = (v) => {
  if (!isRecord(v) || (v.kind !== "key-start" && v.kind !== "after")) return INVALID;
  const fields = CURSOR_FIELDS[v.kind];
  const keys = Object.keys(v);
  if (keys.length !== fields.length || !keys.every((k) => fields.includes(k))) return INVALID;
  return cursorOf[v.kind](v);
};
const byteRange: Decoder = (v) => {
  const range = object<ByteRange>({ start: count, endInclusive: count })(v);
  return range !== INVALID && (range as ByteRange).start <= (range as ByteRange).endInclusive ? range : INVALID;
};

const PARTITIONS_PER_REQUEST_MAX = 4096;
const partitionList = arrayOf(count, PARTITIONS_PER_REQUEST_MAX);

const foreignPartitions: Decoder = (v) => (v === "unknown" ? v : partitionList(v));
const foreignReport = object<ForeignReport>({ boot: count, seq: count, partitions: foreignPartitions });

/** A whole cluster map: the core validator decides (it expects the shape, so the shape is checked first). */
const clusterMap: Decoder = (v) => {
  if (!isRecord(v) || !Array.isArray(v.nodes) || !v.nodes.every(isRecord)) return INVALID;
  try {
    return validateClusterMap(v as unknown as ClusterMap).ok ? v : INVALID;
  } catch {
    return INVALID;
  }
};

const bucketSettings: Decoder = (v) => (typeof v === "string" && v.length <= BUCKET_SETTINGS_CHARS_MAX ? v : INVALID);
const bucketEntries = arrayOf(object<BucketEntry>({ name: str, stamp, state: literal(...BUCKET_STATES), createdMs: count, settings: bucketSettings }), BUCKET_ENTRIES_MAX);

/** Bucket entries from untrusted JSON (a node's table file uses the wire's own check); null if malformed. */
export function decodeBucketEntries(value: unknown): BucketEntry[] | null {
  const decoded = bucketEntries(value);
  return decoded === INVALID ? null : (decoded as BucketEntry[]);
}

type Params<K extends RequestKind> = Omit<RequestOf<K, unknown>, "kind" | "body">;

const REQUEST_DECODERS: { readonly [K in RequestKind]: Decoder } = {
  put: object<Params<"put">>({ partition: count, header: versionHeader, hintFor: str }, ["hintFor"]),
  commit: object<Params<"commit">>({ partition: count, version: objectVersion, hintFor: str, written: stamp }, ["hintFor", "written"]),
  head: object<Params<"head">>({ partition: count, bucket: str, key: str }),
  read: object<Params<"read">>({ partition: count, bucket: str, key: str, range: byteRange }, ["range"]),
  get: object<Params<"get">>({ partition: count, bucket: str, key: str, stamp, range: byteRange }, ["range"]),
  drop: object<Params<"drop">>({ partition: count, bucket: str, key: str, stamp }),
  "list-partition": object<Params<"list-partition">>({ partition: count, from: cursor, limit }, ["from"]),
  digest: object<Params<"digest">>({ partition: count }),
  digests: object<Params<"digests">>({ partitions: partitionList }),
  "list-bucket": object<Params<"list-bucket">>({ bucket: str, prefix: str, after: str, limit, delimiter: str }, ["delimiter"]),
  heartbeat: object<Params<"heartbeat">>({ from: str, epoch: count, mapHash: str, syncedEpoch: count, foreign: foreignReport, bucketsHash: str }, ["syncedEpoch", "foreign", "bucketsHash"]),
  buckets: object<Params<"buckets">>({ entries: bucketEntries }),
  "get-map": object<Params<"get-map">>({}),
  "install-map": object<Params<"install-map">>({ map: clusterMap }),
};

type Reply<K extends RequestKind> = Omit<ReplicaResponse<unknown>[K], "body">;
/** A read reply as its header carries it: the served body's range, without the bytes. */
type ReadReplyText = Reply<"read"> & { readonly body?: { readonly range?: ByteRange } };

const digestFields = { hash: str, count, caughtUpPrimary: bool, intactPrimary: bool };
const partitionEntry = object<PartitionEntry>({ bucket: str, key: str, stamp, deleted: bool, checksum: str });

/** Replies of get carry only their version here (in VERSION_HEADER); the body streams beside it. */
const REPLY_DECODERS: { readonly [K in RequestKind]: Decoder } = {
  put: object<Reply<"put">>({ checksum: str, size: count, standInFor: str }, ["standInFor"]),
  commit: object<Reply<"commit">>({ committed: literal(true) }),
  head: object<Reply<"head">>({ version: nullable(objectVersion), standInFor: str }, ["standInFor"]),
  // The bytes themselves stream beside the header; `body` here only says that they do, and which.
  read: object<ReadReplyText>({ version: nullable(objectVersion), standInFor: str, body: object<{ range?: ByteRange }>({ range: byteRange }, ["range"]) }, ["standInFor", "body"]),
  get: object<Reply<"get">>({ version: objectVersion }),
  drop: object<Reply<"drop">>({ dropped: bool }),
  "list-partition": object<Reply<"list-partition">>({ entries: arrayOf(partitionEntry, LIST_LIMIT_MAX), done: bool }),
  digest: object<DigestAnswer>(digestFields),
  digests: object<Reply<"digests">>({ digests: arrayOf(object<DigestAnswer & { partition: number }>({ partition: count, ...digestFields }), PARTITIONS_PER_REQUEST_MAX) }),
  "list-bucket": object<Reply<"list-bucket">>({ versions: arrayOf(objectVersion, LIST_LIMIT_MAX), done: bool }),
  heartbeat: object<Reply<"heartbeat">>({ epoch: count, mapHash: str, syncedEpoch: count, foreign: foreignReport, bucketsHash: str }, ["syncedEpoch", "foreign", "bucketsHash"]),
  buckets: object<Reply<"buckets">>({ entries: bucketEntries }),
  "get-map": object<Reply<"get-map">>({ map: clusterMap }),
  "install-map": object<Reply<"install-map">>({ outcome: literal("adopted-with-transition", "adopted", "ignored-not-newer") }),
};

/** Kinds whose parameters travel in REQUEST_META_HEADER (base64url JSON); all others in a JSON body. */
const inHeader = (kind: RequestKind): kind is StreamKind => kind === "put" || kind === "get" || kind === "read";

/**
 * Builds a typed request of `kind` from decoded JSON parameters (and, for put, the body).
 * Only the fields the kind declares are kept.
 */
export function decodeRequest<Body>(kind: RequestKind, params: unknown, body?: Body): Result<ReplicaRequest<Body>, string> {
  const decoded = REQUEST_DECODERS[kind](params);
  if (decoded === INVALID) return err(`malformed ${kind} request`);
  if (kind === "put" && body === undefined) return err("put without a body");
  const request = { kind, ...(decoded as Record<string, unknown>), ...(kind === "put" ? { body } : {}) };
  return ok(request as unknown as ReplicaRequest<Body>);
}

/** The parameters a request sends in its header or JSON body: the request without its kind (and body). */
export function paramsOf(request: ReplicaRequest<unknown>): Record<string, unknown> {
  const { kind: _kind, ...rest } = request as unknown as Record<string, unknown>;
  if (request.kind === "put") delete rest.body;
  return rest;
}

/** The text a request's parameters travel as: REQUEST_META_HEADER's value for put and get, else the JSON body. */
export function encodeRequestParams(request: ReplicaRequest<unknown>): string {
  return inHeader(request.kind) ? encodeMeta(paramsOf(request)) : JSON.stringify(paramsOf(request));
}

/** The receiving side of encodeRequestParams: the text of the header (put, get) or of the JSON body. */
export function decodeRequestParams<Body>(kind: RequestKind, text: string | undefined, body?: Body): Result<ReplicaRequest<Body>, string> {
  const params = inHeader(kind) ? decodeMeta(text) : parseJson(text ?? "", "request body is not JSON");
  return params.ok ? decodeRequest(kind, params.value, body) : params;
}

/**
 * The text a successful reply travels as: for get, VERSION_HEADER's value (its version; the bytes stream as
 * the HTTP body); for every other kind, the JSON body.
 */
export function encodeReply<K extends RequestKind>(kind: K, value: ReplicaResponse<unknown>[K]): string {
  if (kind === "get") return encodeMeta((value as ReplicaResponse<unknown>["get"]).version);
  if (kind === "read") {
    const { body, ...answer } = value as ReplicaResponse<unknown>["read"];
    const text: ReadReplyText = body === undefined ? answer : { ...answer, body: body.range ? { range: body.range } : {} };
    return encodeMeta(text);
  }
  return JSON.stringify(value);
}

/** Does a read reply (as its text decoded) carry bytes, and how many: the stream beside it must be exactly that long. */
export function readReplyBodyLength(reply: ReplicaResponse<unknown>["read"]): number {
  if (reply.body === undefined || reply.version === null) return 0;
  return bodyLengthOf(reply.version.size, reply.body.range);
}

/** The receiving side of encodeReply; a get reply is given its body (the stream, or the simulator's SimBody). */
export function decodeReply<K extends RequestKind, Body>(kind: K, text: string | undefined, body?: Body): Result<ReplicaResponse<Body>[K], string> {
  if (kind === "get") {
    const version = decodeMeta(text);
    if (!version.ok) return err(`get reply without a version: ${version.error}`);
    const decoded = REPLY_DECODERS.get({ version: version.value });
    if (decoded === INVALID) return err("malformed get reply");
    if (body === undefined) return err("get reply without a body");
    return ok({ ...(decoded as object), body } as ReplicaResponse<Body>[K]);
  }
  if (kind === "read") return decodeReadReply(text, body) as Result<ReplicaResponse<Body>[K], string>;
  const parsed = parseJson(text ?? "", `${kind} reply is not JSON`);
  if (!parsed.ok) return parsed;
  const decoded = REPLY_DECODERS[kind](parsed.value);
  if (decoded === INVALID) return err(`malformed ${kind} reply`);
  return ok(decoded as ReplicaResponse<Body>[K]);
}

/** A read reply: the head answer, and the bytes beside it when its text says they follow (a live version only). */
function decodeReadReply<Body>(text: string | undefined, body: Body | undefined): Result<ReplicaResponse<Body>["read"], string> {
  const meta = decodeMeta(text);
  if (!meta.ok) return err(`read reply without an answer: ${meta.error}`);
  const decoded = REPLY_DECODERS.read(meta.value);
  if (decoded === INVALID) return err("malformed read reply");
  const { body: served, ...answer } = decoded as ReadReplyText;
  if (served === undefined) return ok(answer);
  if (answer.version === null || answer.version.deleted) return err("read reply with bytes but no live version");
  if (served.range !== undefined && served.range.endInclusive >= answer.version.size) return err("read reply with a range beyond its version");
  if (body === undefined) return err("read reply without its bytes");
  return ok({ ...answer, body: { bytes: body, ...(served.range ? { range: served.range } : {}) } });
}

export function failureBody(failure: TransportFailure): { kind: TransportFailureKind; detail: string } {
  return { kind: failure.kind, detail: failure.detail };
}

/** A failure as the wire carries it: a status by its kind (unless the server chose one, e.g. 400) and JSON {kind, detail}. */
export function encodeFailure(failure: TransportFailure, status = statusOfFailure(failure.kind)): { status: number; text: string } {
  return { status, text: JSON.stringify(failureBody(failure)) };
}

/**
 * The receiving side of encodeFailure. A body that is not ours (a proxy, a crashed handler) becomes a failure
 * named by the status: 403 is "forbidden", anything else "remote".
 */
export function decodeFailure(status: number, text: string | undefined): TransportFailure {
  const parsed = text === undefined ? undefined : parseJson(text, "failure is not JSON");
  if (parsed?.ok && isRecord(parsed.value) && isFailureKind(parsed.value.kind)) {
    const detail = parsed.value.detail;
    return { kind: parsed.value.kind, detail: typeof detail === "string" ? detail.slice(0, STRING_CHARS_MAX) : "" };
  }
  return { kind: status === 403 ? "forbidden" : "remote", detail: `HTTP ${status} without a failure body` };
}

/** Bytes a `get` reply carries: the range clamped to the size, as the blob stores clamp it. */
export function bodyLengthOf(size: number, range: { start: number; endInclusive: number } | undefined): number {
  if (range === undefined) return size;
  return Math.max(0, Math.min(size - 1, range.endInclusive) - range.start + 1);
}

/** Reads a stream whole, failing once it passes `bytesMax`. */
export async function readAll(stream: AsyncIterable<unknown>, bytesMax: number): Promise<Result<Buffer, string>> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > bytesMax) return err(`body over ${bytesMax} B`);
    chunks.push(buffer);
  }
  return ok(Buffer.concat(chunks));
}
