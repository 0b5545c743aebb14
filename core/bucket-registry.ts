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
//     then an entry with that version's stamp: the record and the table never disagree on which is newer. Every
//     change (CreateBucket, settings, DeleteBucket) starts from a quorum read of the record, never from the
//     table alone, so it cannot be decided on, or written over, a change this router has not heard of yet.
//   - DeleteBucket against concurrent PUTs: (1) the record and the table entry are marked "deleting", and the
//     mark is pushed to every node of the view; nodes commit no new version to a marked bucket, and answer
//     the push only after the commits they let in before it have finished (core/bucket-write-gate.ts);
//     (2) only when fewer than W nodes lack the mark (markHeldWidely: no W nodes can commit a new version any
//     more) does the listing run; (3) empty, and the mark still held by all but fewer than W of the nodes that
//     held it before the listing (a concurrent change may have replaced it: found by the simulator, two
//     DeleteBuckets of one bucket, the failing one lifting the mark the other listed under): the tombstone; not
//     empty, or the mark not held widely: the mark is lifted (unless a newer change already replaced it) and the
//     client is told why. So a PUT either committed on W nodes before their mark, and is in the indexes the
//     listing reads (core/listing.ts listingComplete), or it is refused.
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
  /** What the answering nodes hold for the buckets pushed (newer entries among them are news to this router). */
  readonly learned?: readonly BucketEntry[];
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

  /**
   * The bucket as its record says now (a quorum read, merged into the table; throws when none answered): what a
   * change must start from. A table entry may be stale, and a change written over it would be newer than a
   * deletion it has not heard of: found by the simulator, a DeleteBucket of an already deleted bucket whose
   * mark could not be held wrote "live" again and brought the bucket back.
   */
  private async findFresh(name: string): Promise<BucketEntry | null> {
    await this.readRecordOnce(name);
    const entry = this.deps.table.get(name);
    return exists(entry) ? entry : null;
  }

  async create(name: string): Promise<CreateOutcome> {
    // From the record, not the table: a router whose table has not yet heard of a deletion made through
    // another router would answer "exists" for a bucket that is gone (found trying DeleteBucket then
    // CreateBucket through HAProxy with boto3).
    if (await this.findFresh(name)) return "exists";
    if (this.deps.table.size >= BUCKET_ENTRIES_MAX) return "too-many";
    await this.change(name, { state: "live", createdMs: this.deps.nowMs(), settings: "" }, { wait: false });
    return "created";
  }

  /** Replaces the bucket's settings (a new version of its record, same creation time) with what `next` makes of them. */
  async updateSettings(name: string, next: (settings: string) => string): Promise<Result<void, SettingsRefusal>> {
    const entry = await this.findFresh(name);
    if (!entry) return err({ kind: "no-such-bucket" });
    if (entry.state === "deleting") return err({ kind: "deleting" });
    const text = next(entry.settings);
    if (text.length > BUCKET_SETTINGS_CHARS_MAX) return err({ kind: "too-large", chars: text.length });
    await this.change(name, { state: "live", createdMs: entry.createdMs, settings: text }, { wait: false });
    return ok(undefined);
  }

  /** DeleteBucket (the protocol in the header). A listing that throws restores the bucket first, then rethrows. */
  async remove(name: string): Promise<Result<void, DeleteRefusal>> {
    const entry = await this.findFresh(name);
    if (!entry) return err({ kind: "no-such-bucket" });
    const live = { state: "live" as const, createdMs: entry.createdMs, settings: entry.settings };
    const { entry: mark, pushed: marked } = await this.changeEntry(name, { ...live, state: "deleting" });
    /**
     * Lifts this delete's mark, unless a newer change of the bucket (another router's tombstone, found by the
     * simulator: a blind "live" resurrected a bucket deleted meanwhile) already replaced it. The table may not
     * have heard of that change yet, the record's quorum read has; when the record cannot be read, the mark is
     * lifted all the same, so that a failed delete never leaves a bucket refusing writes.
     */
    const unmark = async (): Promise<void> => {
      await this.readRecordOnce(name).catch(() => undefined);
      if (this.deps.table.get(name)?.stamp === mark.stamp) await this.change(name, live, { wait: true });
    };
    if (!markHeldWidely(marked.missing.length, this.deps.writeQuorum)) {
      await unmark();
      return err({ kind: "mark-not-held", missing: marked.missing });
    }
    // One live key anywhere makes the bucket non-empty: the page algorithm walks past any run of tombstones
    // (a fixed-size peek at the first versions would miss a live key behind 50 deleted ones).
    let firstLive;
    try {
      firstLive = await listPage((after, limit) => this.deps.objects.list(name, "", after, limit), { prefix: "", start: { kind: "start" }, maxKeys: 1 });
    } catch (error) {
      await unmark();
      throw error;
    }
    if (firstLive.entries.length > 0) {
      await unmark();
      return err({ kind: "not-empty" });
    }
    // The listing is complete only if the mark held all along: a newer entry (a concurrent DeleteBucket that
    // failed and lifted its own mark, a settings change) lets nodes commit again, and the listing may have run
    // before those commits. Entries only move forward, so a node that held the mark before the listing and
    // still holds it now refused every commit in between; fewer than W nodes outside that set commit nothing.
    const still = await this.pushEntry(mark);
    const heldThroughout = marked.held.filter((n) => still.held.includes(n));
    const lifted = [...new Set([...marked.held, ...marked.missing])].filter((n) => !heldThroughout.includes(n));
    if (!markHeldWidely(lifted.length, this.deps.writeQuorum)) {
      await unmark();
      return err({ kind: "mark-not-held", missing: lifted });
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
    if (options.wait) return (await this.changeEntry(name, next)).pushed;
    const { entry, pushing } = await this.writeEntry(name, next);
    void pushing.catch((error: unknown) => this.deps.onPushFailed?.(name, entry.state, error));
    return { held: [], missing: [] };
  }

  /** change(), waiting for the push, with the entry it made. */
  private async changeEntry(name: string, next: Omit<BucketEntry, "name" | "stamp">): Promise<{ entry: BucketEntry; pushed: PushOutcome }> {
    const { entry, pushing } = await this.writeEntry(name, next);
    return { entry, pushed: await pushing };
  }

  private async writeEntry(name: string, next: Omit<BucketEntry, "name" | "stamp">): Promise<{ entry: BucketEntry; pushing: Promise<PushOutcome> }> {
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
    return { entry, pushing: this.pushEntry(entry) };
  }

  /** Hands `entry` to the nodes of the view; what they answer they hold for its bucket joins this table. */
  private async pushEntry(entry: BucketEntry): Promise<PushOutcome> {
    const outcome = await this.deps.push([entry]);
    // A newer change another router made (its tombstone, say) is known here at once, not at the next gossip:
    // DeleteBucket's unmark must not write over it.
    this.deps.table.merge(outcome.learned ?? []);
    if (outcome.missing.length > 0) this.deps.onPushIncomplete?.(entry.name, entry.state, outcome.missing);
    return outcome;
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
/**
 * A node holds the entries pushed when its answer (its whole table, after the merge) has each of them as the
 * bucket's current entry; a node that answered with a newer entry for one of them does not hold it (that newer
 * change, not this one, decides what it commits).
 */
export async function pushBucketEntries<Body>(transport: Transport<Body>, view: RingView, entries: readonly BucketEntry[]): Promise<PushOutcome> {
  const nodes = viewNodeIds(view);
  const answers = await Promise.all(nodes.map(async (node) => ({ node, answer: await transport.send(node, { kind: "buckets", entries }) })));
  const holds = (theirs: readonly BucketEntry[]): boolean => {
    const current = new Map(theirs.map((e) => [e.name, e.stamp]));
    return entries.every((e) => current.get(e.name) === e.stamp);
  };
  const held = answers.filter((a) => a.answer.ok && holds(a.answer.value.entries)).map((a) => a.node);
  const names = new Set(entries.map((e) => e.name));
  const learned = answers.flatMap((a) => (a.answer.ok ? a.answer.value.entries.filter((e) => names.has(e.name)) : []));
  return { held, missing: nodes.filter((n) => !held.includes(n)), learned };
}
