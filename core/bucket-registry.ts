// Buckets, the router's side: the bucket table (core/bucket-table.ts), the records behind it, and DeleteBucket's
// protocol against concurrent PUTs. The runtime router (runtime/router/buckets.ts, S3 errors and settings JSON
// around it) and the simulated router (sim/core-router.ts) both run this.
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
//     (2) only when fewer than W nodes lack the mark (markHeldWidely: no W nodes can commit a new version any
//     more) does the listing run; (3) empty: the tombstone; not empty, or the mark not held widely: the bucket
//     is live again (a newer version) and the client is told why. So a PUT either committed on W nodes before
//     their mark, and is in the indexes the listing reads (core/listing.ts listingComplete), or it is refused.
// Assumes: the record objects' put/remove resolve only once W replicas committed, head and list throw when no
// quorum answered; stamps are core/version.ts's.

import { assert } from "./assert.ts";
import { BUCKET_ENTRIES_MAX, BUCKET_SETTINGS_CHARS_MAX, type BucketEntry, type BucketState, type BucketTable, SYSTEM_BUCKET, exists, markHeldWidely } from "./bucket-table.ts";
import type { NodeId } from "./ids.ts";
import { listPage } from "./listing.ts";
import { type RingView, viewNodeIds } from "./membership.ts";
import type { ObjectVersion } from "./object-version.ts";
import type { Transport } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";
import { parseStamp } from "./version.ts";

export const BUCKET_RECORD_PREFIX = "buckets/";
/** Records written before settings existed carry no creation time of their own: their stamp's time is it. */
const CREATED_MS_META = "x-ringstore-created-ms";
/** Absent on records of live buckets (and on every record written before the bucket table). */
const STATE_META = "x-ringstore-bucket-state";

/** The replicated objects the records live in (the router's object service, or the simulated coordinator). */
export interface BucketRecordObjects {
  /** A quorum read; null when no version exists; throws when no quorum answered. */
  head(bucket: string, key: string): Promise<ObjectVersion | null>;
  /** A tombstone written with W; throws when it was not. */
  remove(bucket: string, key: string): Promise<ObjectVersion>;
  /** One page of the merged listing of a bucket (tombstones included); throws when the listing is incomplete. */
  list(bucket: string, prefix: string, after: string, limit: number): Promise<{ readonly versions: readonly ObjectVersion[]; readonly truncated: boolean }>;
  /** A new version whose body is `text` (UTF-8), written with W; throws when it was not. */
  writeText(target: { bucket: string; key: string; metadata: Record<string, string> }, text: string): Promise<ObjectVersion>;
  /** The body of a version written by writeText, whole (it is at most `charsMax` characters). */
  readText(version: ObjectVersion, charsMax: number): Promise<string>;
}

/** What a push of entries to the nodes of the view found: who holds them now, and who of the view does not. */
export interface PushOutcome {
  readonly held: readonly NodeId[];
  readonly missing: readonly NodeId[];
}

export interface BucketRegistryDeps {
  readonly objects: BucketRecordObjects;
  readonly table: BucketTable;
  /** Send entries to every node of the view (a `buckets` request each), in parallel; resolves when all answered or failed. */
  push(entries: readonly BucketEntry[]): Promise<PushOutcome>;
  /** W: DeleteBucket lists only once fewer than W nodes lack its mark. */
  readonly writeQuorum: number;
  /** This router's wall clock in whole ms (Date.now's kind): a bucket's creation time. */
  readonly nowMs: () => number;
  /** A push that did not reach every node (gossip finishes it), or a delete that could not mark enough nodes. */
  onPushIncomplete?(bucket: string, state: BucketState, missing: readonly NodeId[]): void;
  /** A background push that threw (a bug, not a node's failure: those are answers); gossip still carries the entry. */
  onPushFailed?(bucket: string, state: BucketState, cause: unknown): void;
}

export type CreateOutcome = "created" | "exists" | "too-many";
export type SettingsRefusal = { readonly kind: "no-such-bucket" } | { readonly kind: "deleting" } | { readonly kind: "too-large"; readonly chars: number };
export type DeleteRefusal = { readonly kind: "no-such-bucket" } | { readonly kind: "mark-not-held"; readonly missing: readonly NodeId[] } | { readonly kind: "not-empty" };

/** A bucket as ListBuckets shows it. */
export interface ListedBucket {
  readonly name: string;
  readonly createdMs: number;
  readonly deleting: boolean;
  /** The table's entry when the table's knowledge was the newer; a record alone carries no settings here. */
  readonly entry: BucketEntry | undefined;
}

export class BucketRegistry {
  /** One record read per bucket at a time: requests arriving while it runs share its answer. */
  private readonly lookups = new Map<string, Promise<void>>();

  constructor(private readonly deps: BucketRegistryDeps) {
    assert(Number.isInteger(deps.writeQuorum) && deps.writeQuorum >= 1, () => `write quorum ${deps.writeQuorum}`);
  }

  /** The bucket's entry when it exists (live or deleting), null when it does not; throws when that cannot be told. */
  async find(name: string): Promise<BucketEntry | null> {
    const known = this.deps.table.get(name);
    if (exists(known)) return known;
    try {
      await this.readRecordOnce(name);
    } catch (error) {
      // A tombstone is an answer of its own; a bucket never heard of needs the record.
      if (known) return null;
      throw error;
    }
    const learned = this.deps.table.get(name);
    return exists(learned) ? learned : null;
  }

  async create(name: string): Promise<CreateOutcome> {
    if (await this.find(name)) return "exists";
    if (this.deps.table.size >= BUCKET_ENTRIES_MAX) return "too-many";
    await this.change(name, { state: "live", createdMs: this.deps.nowMs(), settings: "" }, { wait: false });
    return "created";
  }

  /** Replaces the bucket's settings (a new version of its record, same creation time) with what `next` makes of them. */
  async updateSettings(name: string, next: (settings: string) => string): Promise<Result<void, SettingsRefusal>> {
    const entry = await this.find(name);
    if (!entry) return err({ kind: "no-such-bucket" });
    if (entry.state === "deleting") return err({ kind: "deleting" });
    const text = next(entry.settings);
    if (text.length > BUCKET_SETTINGS_CHARS_MAX) return err({ kind: "too-large", chars: text.length });
    await this.change(name, { state: "live", createdMs: entry.createdMs, settings: text }, { wait: false });
    return ok(undefined);
  }

  /** DeleteBucket (the protocol in the header). A listing that throws restores the bucket first, then rethrows. */
  async remove(name: string): Promise<Result<void, DeleteRefusal>> {
    const entry = await this.find(name);
    if (!entry) return err({ kind: "no-such-bucket" });
    const live = { state: "live" as const, createdMs: entry.createdMs, settings: entry.settings };
    const marked = await this.change(name, { ...live, state: "deleting" }, { wait: true });
    if (!markHeldWidely(marked.missing.length, this.deps.writeQuorum)) {
      await this.change(name, live, { wait: true });
      return err({ kind: "mark-not-held", missing: marked.missing });
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
      return err({ kind: "not-empty" });
    }
    await this.change(name, { state: "deleted", createdMs: entry.createdMs, settings: "" }, { wait: true });
    return ok(undefined);
  }

  /** ListBuckets: the records (when a listing quorum answers) and the table, the newer of each, by name. */
  async list(): Promise<ListedBucket[]> {
    const newest = new Map<string, { stamp: string; bucket: ListedBucket | null }>();
    for (const entry of this.deps.table.entries()) {
      newest.set(entry.name, { stamp: entry.stamp, bucket: exists(entry) ? { name: entry.name, createdMs: entry.createdMs, deleting: entry.state === "deleting", entry } : null });
    }
    let records: ObjectVersion[];
    try {
      records = await this.listRecords();
    } catch (error) {
      // Without a listing quorum the table alone answers, once it knows anything.
      if (this.deps.table.size === 0) throw error;
      records = [];
    }
    for (const record of records) {
      const name = record.key.slice(BUCKET_RECORD_PREFIX.length);
      const known = newest.get(name);
      if (known && known.stamp >= record.stamp) continue;
      newest.set(name, { stamp: record.stamp, bucket: record.deleted ? null : { name, createdMs: createdMsOf(record), deleting: record.userMeta[STATE_META] === "deleting", entry: undefined } });
    }
    return [...newest.values()].flatMap((v) => (v.bucket ? [v.bucket] : [])).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async listRecords(): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    let after = "";
    for (;;) {
      const page = await this.deps.objects.list(SYSTEM_BUCKET, BUCKET_RECORD_PREFIX, after, 1000);
      out.push(...page.versions);
      if (!page.truncated || page.versions.length === 0) return out;
      const last = page.versions[page.versions.length - 1]!.key;
      assert(last > after, () => `record listing did not advance past ${after}`);
      after = last;
    }
  }

  /**
   * One change of a bucket: a new version of its record (a tombstone for "deleted"), then the entry with that
   * version's stamp, in this table and pushed to the nodes. `wait`: the push's outcome is needed (DeleteBucket);
   * otherwise it runs in the background and gossip carries the entry wherever it did not arrive.
   */
  private async change(name: string, next: Omit<BucketEntry, "name" | "stamp">, options: { wait: boolean }): Promise<PushOutcome> {
    assert(Number.isSafeInteger(next.createdMs) && next.createdMs >= 0, () => `creation time of ${name} must be whole ms, got ${next.createdMs}`);
    const key = BUCKET_RECORD_PREFIX + name;
    const version =
      next.state === "deleted"
        ? await this.deps.objects.remove(SYSTEM_BUCKET, key)
        : await this.deps.objects.writeText(
            { bucket: SYSTEM_BUCKET, key, metadata: { [CREATED_MS_META]: String(next.createdMs), ...(next.state === "deleting" ? { [STATE_META]: "deleting" } : {}) } },
            next.settings,
          );
    assert(version.deleted === (next.state === "deleted"), () => `record of ${name} written as ${version.deleted ? "a tombstone" : "live"} for state ${next.state}`);
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
    const record = await this.deps.objects.head(SYSTEM_BUCKET, BUCKET_RECORD_PREFIX + name);
    if (!record) return;
    const state: BucketState = record.deleted ? "deleted" : record.userMeta[STATE_META] === "deleting" ? "deleting" : "live";
    const settings = state !== "deleted" && record.size > 0 ? await this.deps.objects.readText(record, BUCKET_SETTINGS_CHARS_MAX) : "";
    this.deps.table.merge([{ name, stamp: record.stamp, state, createdMs: createdMsOf(record), settings }]);
  }
}

function createdMsOf(record: ObjectVersion): number {
  const created = Number(record.userMeta[CREATED_MS_META]);
  return Number.isSafeInteger(created) && created > 0 ? created : (parseStamp(record.stamp)?.physicalMs ?? 0);
}

/** A router hands a bucket change to every node of its view at once (a `buckets` request each), instead of waiting for gossip. */
export async function pushBucketEntries<Body>(transport: Transport<Body>, view: RingView, entries: readonly BucketEntry[]): Promise<PushOutcome> {
  const nodes = viewNodeIds(view);
  const answers = await Promise.all(nodes.map(async (node) => ({ node, answer: await transport.send(node, { kind: "buckets", entries }) })));
  return { held: answers.filter((a) => a.answer.ok).map((a) => a.node), missing: answers.filter((a) => !a.answer.ok).map((a) => a.node) };
}
