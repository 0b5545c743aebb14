// Multipart decisions (core/multipart.ts) against a model: what a Complete may name and keep, what an Abort
// leaves when a delete fails, and when a replaced multipart object's parts are collected.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Manifest, MANIFEST_META, PARTS_BUCKET, UPLOADS_BUCKET, partKey } from "../../core/manifest.ts";
import { type UploadObjects, abortUpload, collectReplacedUpload, completeUpload, dropUploadParts, planCompletion } from "../../core/multipart.ts";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";

const RUNS = { numRuns: 300 };
const UPLOAD = "u1";
const RECORD = "~/b/k\0u1";
const MIN = 10;

function version(bucket: string, key: string, stamp: number, size: number, etag: string, extra: Partial<ObjectVersion> = {}): ObjectVersion {
  return { bucket, key, stamp: String(stamp).padStart(8, "0") as VersionStamp, size, etag, checksum: `c-${etag}`, contentType: "", userMeta: {}, deleted: false, ...extra };
}

/** The replicated object service as a map of newest versions; `failOn` makes remove of those keys reject. */
class Objects implements UploadObjects {
  readonly byName = new Map<string, ObjectVersion>();
  constructor(readonly failOn: ReadonlySet<string> = new Set(), private readonly pageKeys = 2) {}
  put(v: ObjectVersion): void {
    this.byName.set(`${v.bucket}/${v.key}`, v);
  }
  async head(bucket: string, key: string): Promise<ObjectVersion | null> {
    return this.byName.get(`${bucket}/${key}`) ?? null;
  }
  async remove(bucket: string, key: string): Promise<void> {
    if (this.failOn.has(key)) throw new Error(`remove ${key}: quorum failed`);
    const v = this.byName.get(`${bucket}/${key}`);
    if (v) this.byName.set(`${bucket}/${key}`, { ...v, deleted: true });
  }
  async list(bucket: string, prefix: string, after: string, limit: number): Promise<{ versions: ObjectVersion[]; truncated: boolean }> {
    const all = [...this.byName.values()].filter((v) => v.bucket === bucket && v.key.startsWith(prefix) && v.key > after).sort((a, b) => (a.key < b.key ? -1 : 1));
    const take = Math.min(limit, this.pageKeys); // short pages: the drop must page on
    return { versions: all.slice(0, take), truncated: all.length > take };
  }
  livePartKeys(): string[] {
    return [...this.byName.values()].filter((v) => v.bucket === PARTS_BUCKET && !v.deleted).map((v) => v.key).sort();
  }
}

// Stored parts 1..n (some re-sent: a new ETag), and a request naming some of them in order, with ETags right or not.
const caseArb = fc
  .record({
    sizes: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 7 }),
    picks: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    wrongEtag: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  })
  .map(({ sizes, picks, wrongEtag }) => {
    const stored = sizes.map((size, i) => version(PARTS_BUCKET, partKey(UPLOAD, i + 1), 10 + i, size, `e${i + 1}`));
    const named = stored.filter((_, i) => picks[i]);
    const wanted = (named.length > 0 ? named : [stored[0]!]).map((v) => ({ partNumber: Number(v.key.slice(UPLOAD.length + 1)), etag: wrongEtag[Number(v.key.slice(UPLOAD.length + 1)) - 1] ? "other" : v.etag }));
    return { stored, wanted };
  });

describe("planCompletion", () => {
  it("names exactly the requested parts as stored, or refuses the first wrong or too small one, as S3 does", () => {
    fc.assert(
      fc.property(caseArb, ({ stored, wanted }) => {
        const lookedUp = wanted.map((w) => stored[w.partNumber - 1]!);
        const plan = planCompletion(wanted, lookedUp, MIN);
        const firstBad = wanted.findIndex((w, i) => lookedUp[i]!.etag !== w.etag || (i < wanted.length - 1 && lookedUp[i]!.size < MIN));
        if (firstBad < 0) {
          expect(plan.ok).toBe(true);
          if (plan.ok) expect(plan.value.map((p) => [p.partNumber, p.key, p.stamp, p.etag, p.size])).toEqual(lookedUp.map((v, i) => [wanted[i]!.partNumber, v.key, v.stamp, v.etag, v.size]));
        } else {
          expect(plan.ok).toBe(false);
          if (!plan.ok) expect(plan.error.partNumber).toBe(wanted[firstBad]!.partNumber);
        }
      }),
      RUNS,
    );
  });

  it("refuses a part that is missing or deleted", () => {
    const part = version(PARTS_BUCKET, partKey(UPLOAD, 1), 1, 20, "e1");
    expect(planCompletion([{ partNumber: 1, etag: "e1" }], [null], MIN)).toEqual({ ok: false, error: { kind: "invalid-part", partNumber: 1, etag: "e1" } });
    expect(planCompletion([{ partNumber: 1, etag: "e1" }], [{ ...part, deleted: true }], MIN).ok).toBe(false);
  });
});

describe("completeUpload", () => {
  it("writes one manifest of the named parts, removes the record, and drops only the parts it did not name", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ stored, wanted }) => {
        const objects = new Objects();
        for (const v of stored) objects.put(v);
        objects.put(version(UPLOADS_BUCKET, RECORD, 1, 0, "r"));
        const written: Manifest[] = [];
        const done = await completeUpload(objects, { uploadId: UPLOAD, record: RECORD }, wanted, async (m) => (written.push(m), version("b", "k", 100, 1, "m")), { partBytesMin: MIN });
        if (!done.ok) {
          expect(written).toEqual([]);
          expect((await objects.head(UPLOADS_BUCKET, RECORD))?.deleted).toBe(false);
          return;
        }
        expect(written).toHaveLength(1);
        expect((await objects.head(UPLOADS_BUCKET, RECORD))?.deleted).toBe(true);
        const report = await done.value.dropUnnamed();
        expect(report.failure).toBeUndefined();
        expect(objects.livePartKeys()).toEqual(written[0]!.parts.map((p) => p.key).sort());
      }),
      RUNS,
    );
  });

  it("with the planted bug completeLosesPart, drops a part the manifest names", async () => {
    const objects = new Objects();
    for (const n of [1, 2]) objects.put(version(PARTS_BUCKET, partKey(UPLOAD, n), n, MIN, `e${n}`));
    const done = await completeUpload(objects, { uploadId: UPLOAD, record: RECORD }, [{ partNumber: 1, etag: "e1" }, { partNumber: 2, etag: "e2" }], async () => version("b", "k", 100, 1, "m"), { partBytesMin: MIN, bugs: { completeLosesPart: true } });
    expect(done.ok).toBe(true);
    if (done.ok) await done.value.dropUnnamed();
    expect(objects.livePartKeys()).toEqual([partKey(UPLOAD, 1)]);
  });
});

describe("abortUpload", () => {
  it("drops every part and then the record; a part it cannot drop fails it with the record still there", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }), async (parts, failing) => {
        const failOn = new Set(failing !== undefined && failing <= parts ? [partKey(UPLOAD, failing)] : []);
        const objects = new Objects(failOn);
        for (let n = 1; n <= parts; n++) objects.put(version(PARTS_BUCKET, partKey(UPLOAD, n), n, 1, `e${n}`));
        objects.put(version(UPLOADS_BUCKET, RECORD, 1, 0, "r"));
        const aborted = await abortUpload(objects, { uploadId: UPLOAD, record: RECORD });
        const recordDeleted = (await objects.head(UPLOADS_BUCKET, RECORD))?.deleted;
        if (failOn.size === 0) {
          expect(aborted).toEqual({ ok: true, value: { dropped: parts } });
          expect(recordDeleted).toBe(true);
          expect(objects.livePartKeys()).toEqual([]);
        } else {
          expect(aborted.ok).toBe(false);
          expect(recordDeleted).toBe(false);
        }
      }),
      RUNS,
    );
  });
});

describe("collectReplacedUpload", () => {
  const manifestObject = version("b", "k", 50, 10, "m-2", { userMeta: { [MANIFEST_META]: "1" } });
  const read = async (): Promise<Manifest> => ({ format: 1, uploadId: UPLOAD, parts: [] });

  it("drops a multipart object's parts only when a newer version replaced it", async () => {
    for (const [old, byStamp, expected] of [
      [manifestObject, 60, 2],
      [manifestObject, 50, 0], // the head saw the write itself
      [manifestObject, 40, 0], // the head saw a newer write
      [{ ...manifestObject, userMeta: {} }, 60, 0], // not multipart
      [{ ...manifestObject, deleted: true }, 60, 0],
      [null, 60, 0],
    ] as const) {
      const objects = new Objects();
      for (const n of [1, 2]) objects.put(version(PARTS_BUCKET, partKey(UPLOAD, n), n, 1, `e${n}`));
      const report = await collectReplacedUpload(objects, old, version("b", "k", byStamp, 1, "x").stamp, read);
      expect(report.dropped).toBe(expected);
    }
  });

  it("dropUploadParts leaves other uploads' parts alone and reports where it stopped", async () => {
    const objects = new Objects(new Set([partKey(UPLOAD, 3)]));
    for (const n of [1, 2, 3, 4]) objects.put(version(PARTS_BUCKET, partKey(UPLOAD, n), n, 1, `e${n}`));
    objects.put(version(PARTS_BUCKET, partKey("u10", 1), 9, 1, "x"));
    const report = await dropUploadParts(objects, UPLOAD, () => true);
    expect(report.dropped).toBe(2);
    expect(report.failure).toMatch(/quorum failed/);
    expect(objects.livePartKeys()).toEqual([partKey(UPLOAD, 3), partKey(UPLOAD, 4), partKey("u10", 1)]);
  });
});
