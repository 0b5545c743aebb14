// Every request and reply that core can build crosses the wire codec (runtime/transport/wire.ts) unchanged:
// the runtime's transport and the simulated network both carry exactly this text. The generators are typed
// against the port types (core/ports.ts), one per kind, so a kind or field added there fails the typecheck here
// until it is generated. Strictness has teeth too: a message with a required field missing is refused.
import { BUCKET_STATES, type BucketEntry } from "../../core/bucket-table.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ClusterMap, createClusterMap } from "../../core/cluster-map.ts";
import type { ForeignReport } from "../../core/foreign-holdings.ts";
import { type Epoch, type NodeId, type PartitionId, epoch, nodeId, zoneId } from "../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import type {
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
import { formatStamp } from "../../core/version.ts";
import {
  LIST_LIMIT_MAX,
  decodeFailure,
  decodeReply,
  decodeRequestParams,
  encodeFailure,
  encodeReply,
  encodeRequestParams,
  statusOfFailure,
} from "../../runtime/transport/wire.ts";

const RUNS = 300;

/** Bodies are not the codec's business: they travel beside the text, as a stream or a SimBody. */
interface Body {
  readonly size: number;
  readonly contentHash: string;
}

// Strings with what breaks codecs: lone surrogates, NUL, quotes, backslashes, the stamp and path separators.
const tricky = fc.constantFrom("\ud800", "\udfff", "\u0000", '"', "\\", "/", ".", "__proto__", "é", "😀");
const text = fc.string({ unit: fc.oneof(tricky, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })), maxLength: 24 });
const name = fc.oneof(text, fc.constantFrom("videos", "a/b c.mp4", "-system"));
const partition = fc.nat({ max: 2 ** 20 - 1 }).map((p) => p as PartitionId);
const size = fc.oneof(fc.nat({ max: 10_000 }), fc.maxSafeNat());
const node = fc.oneof(fc.constantFrom("node-1", "n2", "router-1"), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/)).map((id) => nodeId(id) as NodeId);
const epochOf = fc.integer({ min: 1, max: 1_000_000 }).map((e) => epoch(e) as Epoch);
const stamp: fc.Arbitrary<VersionStamp> = fc
  .record({ physicalMs: fc.nat({ max: 16 ** 12 - 1 }), logical: fc.nat({ max: 16 ** 6 - 1 }), writer: fc.oneof(fc.constantFrom("r1", "router-1"), text.filter((w) => w.length > 0 && !w.includes("/"))) })
  .map((parts) => formatStamp(parts));
const checksum = fc.stringMatching(/^[0-9a-f]{16}$/);
const userMeta = fc.dictionary(text, text, { maxKeys: 4 });

const header: fc.Arbitrary<VersionHeader> = fc.record({ bucket: name, key: name, stamp, size, contentType: text, userMeta, deleted: fc.boolean() });
const version: fc.Arbitrary<ObjectVersion> = fc.record({ bucket: name, key: name, stamp, size, contentType: text, userMeta, deleted: fc.boolean(), etag: text, checksum });
const cursor: fc.Arbitrary<PartitionCursor> = fc.oneof(
  fc.record({ kind: fc.constant("key-start" as const), bucket: name, key: name }),
  fc.record({ kind: fc.constant("after" as const), bucket: name, key: name, stamp }),
);
const range = fc.tuple(fc.nat({ max: 1 << 30 }), fc.nat({ max: 1 << 30 })).map(([a, b]) => ({ start: Math.min(a, b), endInclusive: Math.max(a, b) }));
const limit = fc.integer({ min: 1, max: LIST_LIMIT_MAX });
const partitions = fc.array(partition, { maxLength: 40 });
const foreign: fc.Arbitrary<ForeignReport> = fc.record({ boot: fc.maxSafeNat(), seq: fc.nat(), partitions: fc.oneof(fc.constant("unknown" as const), fc.uniqueArray(partition, { maxLength: 20 }).map((ps) => [...ps].sort((a, b) => a - b))) });
const clusterMap: fc.Arbitrary<ClusterMap> = fc
  .record({ partitionBits: fc.integer({ min: 1, max: 12 }), replicas: fc.integer({ min: 1, max: 5 }), nodes: fc.integer({ min: 1, max: 6 }) })
  .map(({ partitionBits, replicas, nodes }) =>
    createClusterMap({ partitionBits, replicas, nodes: Array.from({ length: nodes }, (_, i) => ({ id: nodeId(`node-${i + 1}`), address: `127.0.0.1:${9000 + i}`, zone: zoneId(`z${i % 3}`) })) }),
  );
const bucketEntry: fc.Arbitrary<BucketEntry> = fc.record({ name, stamp, state: fc.constantFrom(...BUCKET_STATES), createdMs: fc.maxSafeNat(), settings: text });
const bucketEntries = fc.array(bucketEntry, { maxLength: 6 });
const body: fc.Arbitrary<Body> = fc.record({ size: fc.nat(), contentHash: checksum });

const REQUESTS: { readonly [K in RequestKind]: fc.Arbitrary<RequestOf<K, Body>> } = {
  put: fc.record({ kind: fc.constant("put" as const), partition, header, hintFor: node, body }, { requiredKeys: ["kind", "partition", "header", "body"] }),
  commit: fc.record({ kind: fc.constant("commit" as const), partition, version, hintFor: node, written: stamp }, { requiredKeys: ["kind", "partition", "version"] }),
  head: fc.record({ kind: fc.constant("head" as const), partition, bucket: name, key: name }),
  read: fc.record({ kind: fc.constant("read" as const), partition, bucket: name, key: name, range }, { requiredKeys: ["kind", "partition", "bucket", "key"] }),
  get: fc.record({ kind: fc.constant("get" as const), partition, bucket: name, key: name, stamp, range }, { requiredKeys: ["kind", "partition", "bucket", "key", "stamp"] }),
  drop: fc.record({ kind: fc.constant("drop" as const), partition, bucket: name, key: name, stamp }),
  "list-partition": fc.record({ kind: fc.constant("list-partition" as const), partition, from: cursor, limit }, { requiredKeys: ["kind", "partition", "limit"] }),
  digest: fc.record({ kind: fc.constant("digest" as const), partition }),
  digests: fc.record({ kind: fc.constant("digests" as const), partitions }),
  "list-bucket": fc.record({ kind: fc.constant("list-bucket" as const), bucket: name, prefix: text, after: text, limit, delimiter: text }, { requiredKeys: ["kind", "bucket", "prefix", "after", "limit"] }),
  heartbeat: fc.record({ kind: fc.constant("heartbeat" as const), from: node, epoch: epochOf, mapHash: text, syncedEpoch: epochOf, foreign, bucketsHash: text }, { requiredKeys: ["kind", "from", "epoch", "mapHash"] }),
  buckets: fc.record({ kind: fc.constant("buckets" as const), entries: bucketEntries }),
  "get-map": fc.record({ kind: fc.constant("get-map" as const) }),
  "install-map": fc.record({ kind: fc.constant("install-map" as const), map: clusterMap }),
};

const digestAnswer: fc.Arbitrary<DigestAnswer> = fc.record({ hash: text, count: fc.nat(), caughtUpPrimary: fc.boolean(), intactPrimary: fc.boolean() });
const entry: fc.Arbitrary<PartitionEntry> = fc.record({ bucket: name, key: name, stamp, deleted: fc.boolean(), checksum });

/** A read reply with bytes: a live version, its body whole or a range within it (as a node serves it, clamped). */
const readWithBody: fc.Arbitrary<ReplicaResponse<Body>["read"]> = version
  .filter((v) => !v.deleted && v.size > 0)
  .chain((v) =>
    fc.record(
      {
        version: fc.constant(v),
        standInFor: node,
        body: fc.record(
          { bytes: body, range: fc.tuple(fc.nat({ max: v.size - 1 }), fc.nat({ max: v.size - 1 })).map(([a, b]) => ({ start: Math.min(a, b), endInclusive: Math.max(a, b) })) },
          { requiredKeys: ["bytes"] },
        ),
      },
      { requiredKeys: ["version", "body"] },
    ),
  );

const REPLIES: { readonly [K in RequestKind]: fc.Arbitrary<ReplicaResponse<Body>[K]> } = {
  put: fc.record({ checksum, size, standInFor: node }, { requiredKeys: ["checksum", "size"] }),
  commit: fc.constant({ committed: true as const }),
  head: fc.record({ version: fc.option(version, { nil: null }), standInFor: node }, { requiredKeys: ["version"] }),
  read: fc.oneof(fc.record({ version: fc.option(version, { nil: null }), standInFor: node }, { requiredKeys: ["version"] }), readWithBody),
  get: fc.record({ version, body }),
  drop: fc.record({ dropped: fc.boolean() }),
  "list-partition": fc.record({ entries: fc.array(entry, { maxLength: 12 }), done: fc.boolean() }),
  digest: digestAnswer,
  digests: fc.record({ digests: fc.array(fc.tuple(partition, digestAnswer).map(([p, d]) => ({ ...d, partition: p })), { maxLength: 12 }) }),
  "list-bucket": fc.record({ versions: fc.array(version, { maxLength: 8 }), done: fc.boolean() }),
  heartbeat: fc.record({ epoch: epochOf, mapHash: text, syncedEpoch: epochOf, foreign, bucketsHash: text }, { requiredKeys: ["epoch", "mapHash"] }),
  buckets: fc.record({ entries: bucketEntries }),
  "get-map": fc.record({ map: clusterMap }),
  "install-map": fc.record({ outcome: fc.constantFrom("adopted-with-transition" as const, "adopted" as const, "ignored-not-newer" as const) }),
};

const KINDS = Object.keys(REQUESTS) as RequestKind[];
const anyRequest: fc.Arbitrary<ReplicaRequest<Body>> = fc.oneof(...KINDS.map((k) => REQUESTS[k] as fc.Arbitrary<ReplicaRequest<Body>>));
const anyReply = fc.oneof(...KINDS.map((kind) => REPLIES[kind].map((value) => ({ kind, value }) as { kind: RequestKind; value: ReplicaResponse<Body>[RequestKind] })));

const FAILURE_KINDS: readonly TransportFailureKind[] = ["unreachable", "timeout", "not-caught-up", "corrupt", "checksum-mismatch", "disk-full", "not-found", "forbidden", "stale-epoch", "remote"];

/** What crosses: the request's text, and its body beside it (put only). */
function roundTrip(request: ReplicaRequest<Body>) {
  return decodeRequestParams(request.kind, encodeRequestParams(request), request.kind === "put" ? request.body : undefined);
}

function roundTripReply<K extends RequestKind>(kind: K, value: ReplicaResponse<Body>[K]) {
  const bytes = kind === "get" ? (value as ReplicaResponse<Body>["get"]).body : kind === "read" ? (value as ReplicaResponse<Body>["read"]).body?.bytes : undefined;
  return decodeReply<K, Body>(kind, encodeReply(kind, value), bytes);
}

/** Every field path of an object that the port types require (not the optional ones our generators may omit). */
function requiredPaths(value: Record<string, unknown>, optional: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((k) => !optional.has(k) && k !== "kind" && k !== "body");
}

const OPTIONAL_REQUEST_FIELDS = new Set(["hintFor", "range", "from", "syncedEpoch", "foreign", "delimiter", "written", "bucketsHash"]);

describe("wire codec round trips", () => {
  it("every request core can build, of every kind and with either cursor, decodes to the request it encoded", () => {
    fc.assert(
      fc.property(anyRequest, (request) => {
        expect(roundTrip(request)).toEqual({ ok: true, value: request });
      }),
      { numRuns: RUNS * KINDS.length },
    );
  });

  it("every reply of every kind decodes to the reply it encoded (a get reply's version as its header, its body beside it)", () => {
    fc.assert(
      fc.property(anyReply, ({ kind, value }) => {
        expect(roundTripReply(kind, value)).toEqual({ ok: true, value });
      }),
      { numRuns: RUNS * KINDS.length },
    );
  });

  it("every failure decodes to its kind and detail, whatever status carried it", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAILURE_KINDS), text, fc.option(fc.constantFrom(400, 413), { nil: undefined }), (kind, detail, status) => {
        const failure: TransportFailure = { kind, detail };
        const encoded = encodeFailure(failure, status);
        expect(encoded.status).toBe(status ?? statusOfFailure(kind));
        expect(decodeFailure(encoded.status, encoded.text)).toEqual(failure);
      }),
      { numRuns: RUNS },
    );
  });

  it("a request with any required field missing is refused, not passed on with a hole", () => {
    fc.assert(
      fc.property(anyRequest, fc.nat(), (request, pick) => {
        const params = JSON.parse(JSON.stringify({ ...request, kind: undefined, body: undefined })) as Record<string, unknown>;
        const required = requiredPaths(params, OPTIONAL_REQUEST_FIELDS);
        fc.pre(required.length > 0);
        delete params[required[pick % required.length]!];
        const text = request.kind === "put" || request.kind === "get" || request.kind === "read" ? Buffer.from(JSON.stringify(params)).toString("base64url") : JSON.stringify(params);
        expect(decodeRequestParams(request.kind, text, request.kind === "put" ? request.body : undefined).ok).toBe(false);
      }),
      { numRuns: RUNS * KINDS.length },
    );
  });

  it("a reply with any required field missing is refused", () => {
    fc.assert(
      fc.property(anyReply, fc.nat(), ({ kind, value }, pick) => {
        fc.pre(kind !== "get" && kind !== "read"); // their answers travel in a header (below for read)
        const parsed = JSON.parse(encodeReply(kind, value)) as Record<string, unknown>;
        const optional = kind === "heartbeat" ? ["syncedEpoch", "foreign", "bucketsHash"] : kind === "put" || kind === "head" ? ["standInFor"] : [];
        const required = Object.keys(parsed).filter((k) => !optional.includes(k));
        fc.pre(required.length > 0);
        delete parsed[required[pick % required.length]!];
        expect(decodeReply(kind, JSON.stringify(parsed)).ok).toBe(false);
      }),
      { numRuns: RUNS * KINDS.length },
    );
  });

  it("a read reply is refused when its bytes do not fit its answer: bytes without a live version, a range past the end, a promise of bytes with none beside it", () => {
    const meta = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const live: ObjectVersion = { bucket: "b", key: "k", stamp: formatStamp({ physicalMs: 1, logical: 0, writer: "r1" }), size: 10, contentType: "", userMeta: {}, deleted: false, etag: "e", checksum: "0123456789abcdef" };
    const bytes: Body = { size: 10, contentHash: "0123456789abcdef" };
    expect(decodeReply("read", meta({ version: live, body: {} }), bytes)).toEqual({ ok: true, value: { version: live, body: { bytes } } });
    expect(decodeReply("read", meta({ version: live }), bytes)).toEqual({ ok: true, value: { version: live } });
    expect(decodeReply("read", meta({ version: live, body: {} })).ok).toBe(false);
    expect(decodeReply("read", meta({ version: null, body: {} }), bytes).ok).toBe(false);
    expect(decodeReply("read", meta({ version: { ...live, deleted: true }, body: {} }), bytes).ok).toBe(false);
    expect(decodeReply("read", meta({ version: live, body: { range: { start: 2, endInclusive: 10 } } }), bytes).ok).toBe(false);
    expect(decodeReply("read", meta({ version: live, body: { range: { start: 2, endInclusive: 9 } } }), bytes).ok).toBe(true);
  });

  it("a cursor is strict: an empty or missing stamp on 'after', a stamp on 'key-start', or an unknown kind is refused", () => {
    const ask = (from: unknown) => decodeRequestParams("list-partition", JSON.stringify({ partition: 1, from, limit: 8 }));
    const real = formatStamp({ physicalMs: 1, logical: 0, writer: "r1" });
    expect(ask({ kind: "after", bucket: "b", key: "k", stamp: real }).ok).toBe(true);
    expect(ask({ kind: "key-start", bucket: "b", key: "k" }).ok).toBe(true);
    expect(ask({ bucket: "b", key: "k", stamp: "" }).ok).toBe(false); // the cursor of issue 9
    expect(ask({ kind: "after", bucket: "b", key: "k", stamp: "" }).ok).toBe(false);
    expect(ask({ kind: "after", bucket: "b", key: "k" }).ok).toBe(false);
    expect(ask({ kind: "key-start", bucket: "b", key: "k", stamp: real }).ok).toBe(false);
    expect(ask({ kind: "start", bucket: "b", key: "k" }).ok).toBe(false);
  });
});
