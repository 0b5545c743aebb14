import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type Epoch, type PartitionId, nodeId } from "../../core/ids.ts";
import type { ReplicaRequest } from "../../core/ports.ts";
import { decodeMeta, decodeRequest, encodeMeta, paramsOf } from "../../runtime/transport/wire.ts";
import { headerOf, nextStamp, versionOf } from "./support/storage.ts";

const p = 5 as PartitionId;
const header = headerOf("videos", "a/b c.mp4", 10);
const body = Readable.from([], { objectMode: false });

const samples: ReplicaRequest<Readable>[] = [
  { kind: "put", partition: p, header, hintFor: nodeId("node-b"), body },
  { kind: "put", partition: p, header, body },
  { kind: "commit", partition: p, version: versionOf(header, "00000000000000ff"), hintFor: nodeId("node-b") },
  { kind: "head", partition: p, bucket: "videos", key: "k" },
  { kind: "get", partition: p, bucket: "videos", key: "k", stamp: header.stamp, range: { start: 3, endInclusive: 9 } },
  { kind: "get", partition: p, bucket: "videos", key: "k", stamp: header.stamp },
  { kind: "drop", partition: p, bucket: "videos", key: "k", stamp: header.stamp },
  { kind: "list-partition", partition: p, from: { kind: "after", bucket: "videos", key: "k", stamp: nextStamp() }, limit: 100 },
  { kind: "list-partition", partition: p, from: { kind: "key-start", bucket: "videos", key: "k" }, limit: 8 },
  { kind: "list-partition", partition: p, limit: 1 },
  { kind: "digest", partition: p },
  { kind: "list-bucket", bucket: "videos", prefix: "a/", after: "a/0", limit: 1000 },
  { kind: "heartbeat", from: nodeId("node-c"), epoch: 3 as Epoch, mapHash: "abcd", syncedEpoch: 2 as Epoch },
  { kind: "heartbeat", from: nodeId("node-c"), epoch: 3 as Epoch, mapHash: "abcd" },
  { kind: "get-map" },
];

describe("wire encoding", () => {
  it("decodes every request kind back to the request it encoded, through JSON and base64url headers", () => {
    for (const request of samples) {
      const sent = request.kind === "put" || request.kind === "get" ? decodeMeta(encodeMeta(paramsOf(request))) : { ok: true as const, value: JSON.parse(JSON.stringify(paramsOf(request))) };
      if (!sent.ok) throw new Error(sent.error);
      const decoded = decodeRequest(request.kind, sent.value, request.kind === "put" ? body : undefined);
      expect(decoded).toEqual({ ok: true, value: request });
    }
  });

  it("refuses requests with wrong field types, bad stamps, inverted ranges or limits out of bounds, and drops unknown fields", () => {
    const bad: [ReplicaRequest<unknown>["kind"], unknown][] = [
      ["head", { partition: "5", bucket: "b", key: "k" }],
      ["head", { partition: -1, bucket: "b", key: "k" }],
      ["drop", { partition: 5, bucket: "b", key: "k", stamp: "yesterday" }],
      ["get", { partition: 5, bucket: "b", key: "k", stamp: header.stamp, range: { start: 9, endInclusive: 3 } }],
      ["list-bucket", { bucket: "b", prefix: "", after: "", limit: 0 }],
      ["list-bucket", { bucket: "b", prefix: "", after: "", limit: 10_000_000 }],
      ["commit", { partition: 5, version: { ...header } }], // no etag, no checksum
      ["put", { partition: 5, header: { ...header, userMeta: { a: 1 } } }],
      ["head", null],
      // The resume cursor of issue 9: a made-up empty stamp, and cursors that are neither kind or carry extra fields.
      ["list-partition", { partition: 5, from: { bucket: "b", key: "k", stamp: "" }, limit: 8 }],
      ["list-partition", { partition: 5, from: { kind: "after", bucket: "b", key: "k", stamp: "" }, limit: 8 }],
      ["list-partition", { partition: 5, from: { kind: "after", bucket: "b", key: "k" }, limit: 8 }],
      ["list-partition", { partition: 5, from: { kind: "key-start", bucket: "b", key: "k", stamp: header.stamp }, limit: 8 }],
      ["list-partition", { partition: 5, from: { kind: "start", bucket: "b", key: "k" }, limit: 8 }],
    ];
    for (const [kind, params] of bad) expect(decodeRequest(kind, params, body).ok, `${kind} ${JSON.stringify(params)}`).toBe(false);
    const extra = decodeRequest("head", { partition: 5, bucket: "b", key: "k", admin: true });
    expect(extra).toEqual({ ok: true, value: { kind: "head", partition: 5, bucket: "b", key: "k" } });
  });
});
