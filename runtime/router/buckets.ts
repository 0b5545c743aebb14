// Buckets: the router's side of the bucket table (core/bucket-table.ts), and the records behind it.
// Every bucket has a record in the reserved system bucket (`-system/buckets/<name>`, placed on the ring and
// written with quorum like any object): the durable source, what ListBuckets lists, and what a router asks
// on a miss. The same entry travels in the bucket table that every node keeps on disk and gossips with every
// router on heartbeats, so a router answers from its table without a quorum read, and the loss of the nodes
// holding one record's partition stops no bucket that the table knows.
// Guarantees:
//   - A bucket is served as present when the table has a live (or deleting) entry for it, or a quorum read
//     of its record finds one (then the table learns it); a tombstone is checked against the record (a newer
//     create on another router may not have reached this table yet), and is the answer if the record cannot
//     be read.
//   - Every change (create, settings, the deleting mark, the tombstone) is a new version of the record first,
//     then an entry with that version's stamp: the record and the table never disagree on which is newer.
//   - DeleteBucket against concurrent PUTs: (1) the record and the table entry are marked "deleting", and the
//     mark is pushed to every node of the view; nodes commit no new version to a marked bucket, and answer
//     the push only after the commits they let in before it have finished (core/bucket-write-gate.ts);
//     (2) only when fewer than W nodes lack the mark (core/bucket-table.ts markHeldWidely: no W nodes can
//     commit a new version any more) does the listing run; (3) empty: the tombstone; not empty, or the mark
//     not held widely: the bucket is live again (a newer version) and the client gets BucketNotEmpty or 503.
//     So a PUT either committed on W nodes before their mark, and is in the indexes the listing reads (which
//     tolerates N−W nodes missing), or it is refused.
// Assumes: the ObjectService's put/remove resolve only once W replicas committed (object-service.ts).
import { listPage } from "../../core/listing.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { parseStamp } from "../../core/version.ts";
import {
  BUCKET_ENTRIES_MAX,
  BUCKET_SETTINGS_CHARS_MAX,
  type BucketEntry,
  type BucketState,
  type BucketTable,
  SYSTEM_BUCKET,
  exists,
  markHeldWidely,
} from "../../core/bucket-table.ts";
import type { NodeId } from "../../core/ids.ts";
import { S3Error } from "../s3/errors.ts";
import { collectBody } from "../s3/payload.ts";
import type { AbortUploadsRule, CorsRule } from "../s3/xml.ts";
import type { ObjectService } from "./object-service.ts";
import { putBytes } from "./small-object.ts";

export { SYSTEM_BUCKET };
const RECORD_PREFIX = "buckets/";
/** Records written before settings existed carry no creation time of their own: their stamp's time is it. */
const CREATED_MS_META = "x-ringstore-created-ms";
/** Absent on records of live buckets (and on every record written before the bucket table). */
const STATE_META = "x-ringstore-bucket-state";

export interface BucketSettings {
  readonly cors?: readonly CorsRule[];
  readonly lifecycle?: readonly AbortUploadsRule[];
  /**
   * Some object of the bucket had its tags set after it was written (PutObjectTagging, DeleteObjectTagging):
   * GET and HEAD then read the tag records too, for x-amz-tagging-count (runtime/router/object-tags.ts).
   */
  readonly tagsSetLater?: true;
}

export interface BucketInfo {
  readonly name: string;
  readonly createdMs: number;
  readonly settings: BucketSettings;
  /** DeleteBucket is running (or was left half done): nodes refuse new versions until it ends. */
  readonly deleting: boolean;
}

/** What a push of entries to the nodes of the view found: who holds them now, and who of the view does not. */
export interface PushOutcome {
  readonly held: readonly NodeId[];
  readonly missing: readonly NodeId[];
}

export interface BucketRegistryDeps {
  readonly objects: ObjectService;
  readonly table: BucketTable;
  /** Send entries to every node of the view (a `buckets` request each), in parallel; resolves when all answered or failed. */
  push(entries: readonly BucketEntry[]): Promise<PushOutcome>;
  /** W: DeleteBucket lists only once fewer than W nodes lack its mark. */
  readonly writeQuorum: number;
  readonly nowMs?: () => number;
  /** A push that did not reach every node (gossip finishes it), or a delete that could not mark enough nodes. */
  onPushIncomplete?(bucket: string, state: BucketState, missing: readonly NodeId[]): void;
  /** A background push that threw (a bug, not a node's failure: those are answers); gossip still carries the entry. */
  onPushFailed?(bucket: string, state: BucketState, cause: unknown): void;
}

export class BucketRegistry {
  /** One record read per bucket at a time: requests arriving while it runs share its answer. */
  private readonly lookups = new Map<string, Promise<void>>();
  private readonly settingsOf = new WeakMap<BucketEntry, BucketSettings>();
  private readonly nowMs: () => number;

  constructor(private readonly deps: BucketRegistryDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
  }

  async find(name: string): Promise<BucketInfo | null> {
    const known = this.deps.table.get(name);
    if (exists(known)) return this.infoOf(known);
    try {
      await this.readRecordOnce(name);
    } catch (error) {
      // A tombstone is an answer of its own; a bucket never heard of needs the record.
      if (known) return null;
      throw error;
    }
    const learned = this.deps.table.get(name);
    return exists(learned) ? this.infoOf(learned) : null;
  }

  async require(name: string): Promise<BucketInfo> {
    const info = await this.find(name);
    if (!info) throw new S3Error("NoSuchBucket", undefined, { extra: { BucketName: name } });
    return info;
  }

  async create(name: string): Promise<"created" | "exists"> {
    if (await this.find(name)) return "exists";
    if (this.deps.table.size >= BUCKET_ENTRIES_MAX) throw new S3Error("TooManyBuckets", undefined, { extra: { BucketName: name } });
    await this.change(name, { state: "live", createdMs: this.nowMs(), settings: "" }, { wait: false });
    return "created";
  }

  /** Replaces the bucket's settings (a new version of its record, same creation time). */
  async updateSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<void> {
    const info = await this.require(name);
    if (info.deleting) throw new S3Error("OperationAborted", undefined, { extra: { BucketName: name } });
    const settings = change(info.settings);
    const empty = Object.values(settings).every((v) => v === undefined);
    const text = empty ? "" : JSON.stringify(settings);
    if (text.length > BUCKET_SETTINGS_CHARS_MAX) throw new S3Error("MaxMessageLengthExceeded", `The bucket's settings may take at most ${BUCKET_SETTINGS_CHARS_MAX} characters of JSON.`);
    await this.change(name, { state: "live", createdMs: info.createdMs, settings: text }, { wait: false });
  }

  async remove(name: string): Promise<void> {
    const info = await this.require(name);
    const settings = this.deps.table.get(name)?.settings ?? "";
    const live = { state: "live" as const, createdMs: info.createdMs, settings };
    const marked = await this.change(name, { ...live, state: "deleting" }, { wait: true });
    if (!markHeldWidely(marked.missing.length, this.deps.writeQuorum)) {
      await this.change(name, live, { wait: true });
      throw new S3Error("ServiceUnavailable", `DeleteBucket needs all but ${this.deps.writeQuorum - 1} nodes to answer; ${marked.missing.length} did not (${marked.missing.join(", ")}). Try again.`);
    }
    // One live key anywhere makes the bucket non-empty: the page algorithm walks past any run of tombstones
    // (a fixed-size peek at the first versions would miss a live key behind 50 deleted ones).
    let firstLive;
    try {
      firstLive = await listPage((after, limit) => this.deps.objects.list(name, "", after, limit), { prefix: "", start: { kind: "start" }, maxKeys: 1 });
    } catch (error) {
      await this.change(name, live, { wait: true });
      throw error;
    }
    if (firstLive.entries.length > 0) {
      await this.change(name, live, { wait: true });
      throw new S3Error("BucketNotEmpty", undefined, { extra: { BucketName: name } });
    }
    await this.change(name, { state: "deleted", createdMs: info.createdMs, settings: "" }, { wait: true });
  }

  /** ListBuckets: the records (when a listing quorum answers) and the table, the newer of each. */
  async list(): Promise<BucketInfo[]> {
    const newest = new Map<string, { stamp: string; info: BucketInfo | null }>();
    for (const entry of this.deps.table.entries()) newest.set(entry.name, { stamp: entry.stamp, info: exists(entry) ? this.infoOf(entry) : null });
    let records: ObjectVersion[];
    try {
      records = await this.listRecords();
    } catch (error) {
      // Without a listing quorum the table alone answers, once it knows anything.
      if (this.deps.table.size === 0) throw error;
      records = [];
    }
    for (const record of records) {
      const name = record.key.slice(RECORD_PREFIX.length);
      const known = newest.get(name);
      if (known && known.stamp >= record.stamp) continue;
      const alive = !record.deleted;
      newest.set(name, { stamp: record.stamp, info: alive ? { ...createdOf(name, record), settings: {}, deleting: record.userMeta[STATE_META] === "deleting" } : null });
    }
    return [...newest.values()].flatMap((v) => (v.info ? [v.info] : [])).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async listRecords(): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    let after = "";
    for (;;) {
      const page = await this.deps.objects.list(SYSTEM_BUCKET, RECORD_PREFIX, after, 1000);
      out.push(...page.versions);
      if (!page.truncated || page.versions.length === 0) return out;
      after = page.versions[page.versions.length - 1]!.key;
    }
  }

  /**
   * One change of a bucket: a new version of its record (a tombstone for "deleted"), then the entry with that
   * version's stamp, in this table and pushed to the nodes. `wait`: the push's outcome is needed (DeleteBucket);
   * otherwise it runs in the background and gossip carries the entry wherever it did not arrive.
   */
  private async change(name: string, next: Omit<BucketEntry, "name" | "stamp">, options: { wait: boolean }): Promise<PushOutcome> {
    const version =
      next.state === "deleted"
        ? await this.deps.objects.remove(SYSTEM_BUCKET, RECORD_PREFIX + name)
        : await putBytes(
            this.deps.objects,
            {
              bucket: SYSTEM_BUCKET,
              key: RECORD_PREFIX + name,
              contentType: "application/json",
              metadata: { [CREATED_MS_META]: String(next.createdMs), ...(next.state === "deleting" ? { [STATE_META]: "deleting" } : {}) },
            },
            Buffer.from(next.settings, "utf8"),
          );
    const entry: BucketEntry = { name, stamp: version.stamp, ...next };
    this.deps.table.merge([entry]);
    const pushing = this.deps.push([entry]).then((outcome) => {
      if (outcome.missing.length > 0) this.deps.onPushIncomplete?.(name, entry.state, outcome.missing);
      return outcome;
    });
    if (options.wait) return pushing;
    void pushing.catch((error: unknown) => this.deps.onPushFailed?.(name, entry.state, error));
    return { held: [], missing: [] };
  }

  private readRecordOnce(name: string): Promise<void> {
    const running = this.lookups.get(name);
    if (running) return running;
    const lookup = this.readRecord(name).finally(() => this.lookups.delete(name));
    this.lookups.set(name, lookup);
    return lookup;
  }

  /** A quorum read of the record; what it finds joins the table (and spreads from there by gossip). */
  private async readRecord(name: string): Promise<void> {
    const record = await this.deps.objects.head(SYSTEM_BUCKET, RECORD_PREFIX + name);
    if (!record) return;
    const state: BucketState = record.deleted ? "deleted" : record.userMeta[STATE_META] === "deleting" ? "deleting" : "live";
    const settings = state !== "deleted" && record.size > 0 ? (await collectBody(await this.deps.objects.open(record), BUCKET_SETTINGS_CHARS_MAX * 4)).toString("utf8") : "";
    this.deps.table.merge([{ name, stamp: record.stamp, state, createdMs: createdOf(name, record).createdMs, settings }]);
  }

  private infoOf(entry: BucketEntry): BucketInfo {
    let settings = this.settingsOf.get(entry);
    if (settings === undefined) {
      settings = entry.settings === "" ? {} : (JSON.parse(entry.settings) as BucketSettings);
      this.settingsOf.set(entry, settings);
    }
    return { name: entry.name, createdMs: entry.createdMs, settings, deleting: entry.state === "deleting" };
  }
}

function createdOf(name: string, record: ObjectVersion): { name: string; createdMs: number } {
  const created = Number(record.userMeta[CREATED_MS_META]);
  return { name, createdMs: Number.isSafeInteger(created) && created > 0 ? created : (parseStamp(record.stamp)?.physicalMs ?? 0) };
}
