// The bucket table: every bucket's existence and settings, a copy of which every storage node and router holds
// and spreads by gossip beside the cluster map (core/heartbeats.ts), so that no request needs the quorum of the
// one partition that holds a bucket's record.
// Guarantees:
//   - Per bucket, the entry with the greater stamp wins (last writer wins, as for object versions); a tie of
//     stamps is broken by the entry's canonical JSON, so merge is commutative, associative and idempotent and two
//     copies that received the same entries in any order, any number of times, are equal (and hash equal).
//   - A delete is an entry like any other (state "deleted", a tombstone): it wins over every older entry and
//     loses to a newer create. Tombstones are kept (never collected here): a copy that missed a delete can
//     only learn it from a tombstone, and a bucket deleted is a few dozen bytes.
//   - "deleting" is DeleteBucket's mark: the bucket still exists, but a node refuses to commit new versions to
//     it (core/bucket-write-gate.ts), so the listing DeleteBucket runs next sees every write that can succeed.
// Assumes: stamps are minted by core/version.ts (unique per writer, totally ordered as strings); settings are
// opaque to core (the router's JSON of CORS and lifecycle rules).

import { assert } from "./assert.ts";
import { checksumHex, xxhash64 } from "./hash.ts";
import type { VersionStamp } from "./object-version.ts";

/** The reserved bucket (a name no client can create) holding bucket records and other router records. */
export const SYSTEM_BUCKET = "-system";

export type BucketState = "live" | "deleting" | "deleted";

export const BUCKET_STATES: readonly BucketState[] = ["live", "deleting", "deleted"];

export interface BucketEntry {
  readonly name: string;
  readonly stamp: VersionStamp;
  readonly state: BucketState;
  /** When the bucket was created (ms since the epoch, the creating router's clock): ListBuckets shows it. */
  readonly createdMs: number;
  /** The bucket's settings as the router serialised them; "" for none (and for tombstones). */
  readonly settings: string;
}

/**
 * Buckets one table holds, tombstones included: bounds what one gossip message carries (the wire refuses more).
 * The router refuses CreateBucket with TooManyBuckets once its table is this full.
 */
export const BUCKET_ENTRIES_MAX = 20_000;
/** Serialised settings of one bucket (the bound records had before the table); larger ones are refused by the router. */
export const BUCKET_SETTINGS_CHARS_MAX = 256 * 1024;

const canonical = (e: BucketEntry): string => JSON.stringify([e.name, e.stamp, e.state, e.createdMs, e.settings]);

/** The entry that wins between two entries of one bucket. */
export function newerEntry(a: BucketEntry, b: BucketEntry): BucketEntry {
  assert(a.name === b.name, () => `entries of two buckets ${a.name} and ${b.name} do not compete`);
  if (a.stamp !== b.stamp) return a.stamp > b.stamp ? a : b;
  return canonical(a) >= canonical(b) ? a : b;
}

/** True when a bucket in this state takes new object versions; a bucket never heard of is not refused here. */
export const takesWrites = (entry: BucketEntry | undefined): boolean => entry === undefined || entry.state === "live";

/** True when the entry says the bucket exists (a "deleting" bucket still exists until its tombstone). */
export const exists = (entry: BucketEntry | undefined): entry is BucketEntry => entry !== undefined && entry.state !== "deleted";

/**
 * DeleteBucket may list once its mark is held by all but fewer than W nodes of the view: a new version needs W
 * commits (on every ring of the view), and a node holding the mark commits none, so no new version can land.
 */
export function markHeldWidely(nodesMissingCount: number, writeQuorum: number): boolean {
  assert(Number.isInteger(nodesMissingCount) && nodesMissingCount >= 0, () => `missing count ${nodesMissingCount}`);
  assert(Number.isInteger(writeQuorum) && writeQuorum >= 1, () => `write quorum ${writeQuorum}`);
  return nodesMissingCount < writeQuorum;
}

/** The pure merge the table applies: per bucket the newer entry, sorted by name. */
export function mergeEntries(a: readonly BucketEntry[], b: readonly BucketEntry[]): BucketEntry[] {
  const byName = new Map<string, BucketEntry>();
  for (const e of [...a, ...b]) {
    const known = byName.get(e.name);
    byName.set(e.name, known ? newerEntry(known, e) : e);
  }
  return [...byName.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** A stable hash of a table's content: equal tables hash equal in every process. */
export function tableHash(entries: readonly BucketEntry[]): string {
  return checksumHex(xxhash64(JSON.stringify(mergeEntries(entries, []).map(canonical))));
}

/** Entries of `ours` that `theirs` lacks or holds older: what to send a peer after reading its table. */
export function entriesNewerThan(ours: readonly BucketEntry[], theirs: readonly BucketEntry[]): BucketEntry[] {
  const known = new Map(theirs.map((e) => [e.name, e]));
  return ours.filter((e) => {
    const other = known.get(e.name);
    return other === undefined || (newerEntry(e, other) === e && canonical(e) !== canonical(other));
  });
}

/** One process's copy of the table. */
export class BucketTable {
  private readonly byName = new Map<string, BucketEntry>();
  private hashCached: string | undefined;

  constructor(entries: readonly BucketEntry[] = []) {
    this.merge(entries);
  }

  get(name: string): BucketEntry | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every entry, tombstones included, sorted by name. */
  entries(): BucketEntry[] {
    return mergeEntries([...this.byName.values()], []);
  }

  get hash(): string {
    this.hashCached ??= tableHash([...this.byName.values()]);
    return this.hashCached;
  }

  /** Folds entries in; returns those that changed this copy (the caller persists them, or acts on a new mark). */
  merge(entries: readonly BucketEntry[]): BucketEntry[] {
    const changed: BucketEntry[] = [];
    for (const e of entries) {
      const known = this.byName.get(e.name);
      const winner = known ? newerEntry(known, e) : e;
      if (winner === known) continue;
      if (known && canonical(known) === canonical(winner)) continue;
      this.byName.set(e.name, winner);
      changed.push(winner);
    }
    if (changed.length > 0) this.hashCached = undefined;
    return changed;
  }
}
