// The HTTP encoding of the node-internal API (core/ports.ts ReplicaRequest/ReplicaResponse), shared by the
// client (http-transport.ts) and the server (http-server.ts), so the two cannot drift apart.
// Guarantees: every request kind has exactly one route; a request that decodes has the field types its kind
// declares (strings, safe non-negative integers, version stamps), so the handler never sees malformed input.
//   put  → PUT  /v1/objects  parameters in REQUEST_META_HEADER (base64url JSON), body streamed (Content-Length)
//   get  → GET  /v1/objects  parameters in REQUEST_META_HEADER; the reply streams the bytes, its version in VERSION_HEADER
//   else → POST /v1/<kind>   JSON body: the request without `kind`
//   replies: 200 with JSON (or the stream), or a failure status with JSON {kind, detail}.
// Assumes: both sides run the same version of this file (a rolling upgrade would add /v2 routes).

import type { Readable } from "node:stream";
import { isStamp } from "../../core/version.ts";
import { type ClusterMap, validateClusterMap } from "../../core/cluster-map.ts";
import type { ForeignReport } from "../../core/foreign-holdings.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import type { ByteRange, RequestKind, RequestOf, ReplicaRequest, TransportFailure, TransportFailureKind, VersionHeader } from "../../core/ports.ts";
import { type Result, err, ok } from "../../core/result.ts";

export const OBJECTS_PATH = "/v1/objects";
export const VERSION_HEADER = "x-ringstore-version";
export const JSON_REQUEST_BYTES_MAX = 1024 * 1024;
/** A reply of list-partition or list-bucket at its largest page; anything bigger is refused. */
export const JSON_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
/** The largest page a list request may ask for. */
export const LIST_LIMIT_MAX = 100_000;
/** Keys, buckets and other strings in requests: S3 keys are at most 1024 bytes; leave room, but bound it. */
const STRING_CHARS_MAX = 4096;
const USER_META_ENTRIES_MAX = 256;

export const pathOfKind = (kind: Exclude<RequestKind, "put" | "get">): string => `/v1/${kind}`;

export const JSON_KINDS = ["commit", "head", "drop", "list-partition", "digest", "digests", "list-bucket", "heartbeat", "get-map", "install-map"] as const satisfies readonly Exclude<RequestKind, "put" | "get">[];

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
  remote: 500,
};

export const statusOfFailure = (kind: TransportFailureKind): number => STATUS_OF_KIND[kind];

export const isFailureKind = (value: unknown): value is TransportFailureKind => typeof value === "string" && Object.hasOwn(STATUS_OF_KIND, value);

export function encodeMeta(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

export function decodeMeta(text: string | undefined): Result<unknown, string> {
  if (text === undefined || text.length === 0) return err(`missing request parameters`);
  if (text.length > 64 * 1024 || !/^[A-Za-z0-9_-]*$/.test(text)) return err(`malformed request parameters`);
  try {
    return ok(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
  } catch {
    return err(`request parameters are not JSON`);
  }
}

// ---- decoding: from untrusted JSON to a typed request ----
// One decoder per field of every request kind. The field lists are typed against core/ports.ts, so a field
// added to a request there fails the typecheck here until it is decoded (and never gets dropped silently).

const INVALID = Symbol("invalid");
type Decoder = (value: unknown) => unknown;

const str: Decoder = (v) => (typeof v === "string" && v.length <= STRING_CHARS_MAX ? v : INVALID);
const count: Decoder = (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : INVALID);
const bool: Decoder = (v) => (typeof v === "boolean" ? v : INVALID);
const stamp: Decoder = (v) => (typeof v === "string" && isStamp(v) ? v : INVALID);
const limit: Decoder = (v) => (count(v) !== INVALID && (v as number) >= 1 && (v as number) <= LIST_LIMIT_MAX ? v : INVALID);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const userMeta: Decoder = (v) => {
  if (!isRecord(v) || Object.keys(v).length > USER_META_ENTRIES_MAX) return INVALID;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (str(k) === INVALID || str(x) === INVALID) return INVALID;
    out[k] = x as string;
  }
  return out;
};

/** Decodes an object with exactly the fields of T (extra fields are dropped); `optional` may be absent. */
function object<T>(fields: { readonly [F in keyof T]-?: Decoder }, optional: readonly (keyof T)[] = []): Decoder {
  return (value) => {
    if (!isRecord(value)) return INVALID;
    const out: Record<string, unknown> = {};
    for (const [name, decode] of Object.entries(fields) as [string, Decoder][]) {
      const raw = value[name];
      if (raw === undefined && optional.includes(name as keyof T)) continue;
      const decoded = decode(raw);
      if (decoded === INVALID) return INVALID;
      out[name] = decoded;
    }
    return out;
  };
}

const headerFields = { bucket: str, key: str, stamp, size: count, contentType: str, userMeta, deleted: bool };
const versionHeader = object<VersionHeader>(headerFields);
const objectVersion = object<ObjectVersion>({ ...headerFields, etag: str, checksum: str });
const cursor = object<{ bucket: string; key: string; stamp: string }>({ bucket: str, key: str, stamp });
const byteRange: Decoder = (v) => {
  const range = object<ByteRange>({ start: count, endInclusive: count })(v);
  return range !== INVALID && (range as ByteRange).start <= (range as ByteRange).endInclusive ? range : INVALID;
};

const PARTITIONS_PER_REQUEST_MAX = 4096;
const partitionList: Decoder = (v) => {
  if (!Array.isArray(v) || v.length > PARTITIONS_PER_REQUEST_MAX) return INVALID;
  for (const p of v) if (count(p) === INVALID) return INVALID;
  return v;
};

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

type Params<K extends RequestKind> = Omit<RequestOf<K, unknown>, "kind" | "body">;

const REQUEST_DECODERS: { readonly [K in RequestKind]: Decoder } = {
  put: object<Params<"put">>({ partition: count, header: versionHeader, hintFor: str }, ["hintFor"]),
  commit: object<Params<"commit">>({ partition: count, version: objectVersion, hintFor: str }, ["hintFor"]),
  head: object<Params<"head">>({ partition: count, bucket: str, key: str }),
  get: object<Params<"get">>({ partition: count, bucket: str, key: str, stamp, range: byteRange }, ["range"]),
  drop: object<Params<"drop">>({ partition: count, bucket: str, key: str, stamp }),
  "list-partition": object<Params<"list-partition">>({ partition: count, after: cursor, limit }, ["after"]),
  digest: object<Params<"digest">>({ partition: count }),
  digests: object<Params<"digests">>({ partitions: partitionList }),
  "list-bucket": object<Params<"list-bucket">>({ bucket: str, prefix: str, after: str, limit }),
  heartbeat: object<Params<"heartbeat">>({ from: str, epoch: count, mapHash: str, syncedEpoch: count, foreign: foreignReport }, ["syncedEpoch", "foreign"]),
  "get-map": object<Params<"get-map">>({}),
  "install-map": object<Params<"install-map">>({ map: clusterMap }),
};

/**
 * Builds a typed request of `kind` from decoded JSON parameters (and, for put, the body stream).
 * Only the fields the kind declares are kept.
 */
export function decodeRequest(kind: RequestKind, params: unknown, body?: Readable): Result<ReplicaRequest<Readable>, string> {
  const decoded = REQUEST_DECODERS[kind](params);
  if (decoded === INVALID) return err(`malformed ${kind} request`);
  if (kind === "put" && body === undefined) return err("put without a body");
  const request = { kind, ...(decoded as Record<string, unknown>), ...(kind === "put" ? { body } : {}) };
  return ok(request as unknown as ReplicaRequest<Readable>);
}

/** The parameters a request sends in its header or JSON body: the request without its kind (and body). */
export function paramsOf(request: ReplicaRequest<unknown>): Record<string, unknown> {
  const { kind: _kind, ...rest } = request as unknown as Record<string, unknown>;
  if (request.kind === "put") delete rest.body;
  return rest;
}

export function failureBody(failure: TransportFailure): { kind: TransportFailureKind; detail: string } {
  return { kind: failure.kind, detail: failure.detail };
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
