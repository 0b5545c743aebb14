// A bucket listing (DESIGN.md, "Listing"): merging the per-node pages into one, deciding whether enough
// nodes answered, and cutting one S3 page (keys and folded common prefixes) from the merged stream.
// Guarantees of mergeListingPages: the merged page holds, for every key up to its cut, the newest version any answering node
// reported (tombstones included, for the caller to hide), in key order, at most `limit` keys; it is cut
// at the smallest last key of any node page that was full, so no key below the cut can be missing from
// a node that stopped early. `truncated` is true exactly when some node may hold keys after the cut.
// Assumes: each node page is sorted by key, holds the newest version per key that node has, and reports
// `done` when it holds no key after its last one.
import { assert } from "./assert.ts";
import { compareKeys } from "./key-order.ts";
import type { ObjectVersion } from "./object-version.ts";
import { type PlantedBugs, noPlantedBugs } from "./planted-bugs.ts";
import { type Result, ok } from "./result.ts";

export interface NodePage {
  readonly versions: readonly ObjectVersion[];
  readonly done: boolean;
}

export interface MergedPage {
  readonly versions: readonly ObjectVersion[];
  readonly truncated: boolean;
}

/** The folding a listing asks of the nodes: with it, node pages jump past a prefix after one live key. */
export interface ListingFold {
  readonly prefix: string;
  readonly delimiter: string;
}

export function mergeListingPages(pages: readonly NodePage[], limit: number, fold?: ListingFold): MergedPage {
  let cut: string | undefined;
  for (const page of pages) {
    if (page.done || page.versions.length === 0) continue;
    const last = page.versions[page.versions.length - 1]!.key;
    if (cut === undefined || compareKeys(last, cut) < 0) cut = last;
  }
  const newest = new Map<string, ObjectVersion>();
  for (const page of pages) {
    for (const v of page.versions) {
      if (cut !== undefined && compareKeys(v.key, cut) > 0) break;
      const seen = newest.get(v.key);
      if (!seen || v.stamp > seen.stamp) newest.set(v.key, v);
    }
  }
  if (fold !== undefined) {
    // A node jumped past a prefix after a key it holds live. If a newer tombstone elsewhere makes that key
    // dead, the keys the node skipped may be the prefix's only live ones: the page is known only up to it.
    for (const page of pages) {
      for (const v of page.versions) {
        if (cut !== undefined && compareKeys(v.key, cut) > 0) break;
        if (v.deleted || foldedPrefix(v.key, fold.prefix, fold.delimiter) === undefined) continue;
        if (newest.get(v.key)!.deleted && (cut === undefined || compareKeys(v.key, cut) < 0)) cut = v.key;
      }
    }
  }
  const keys = [...newest.keys()].filter((k) => cut === undefined || compareKeys(k, cut) <= 0).sort(compareKeys);
  const versions = keys.slice(0, limit).map((k) => newest.get(k)!);
  const truncated = keys.length > limit || cut !== undefined;
  return { versions, truncated };
}

/**
 * Whether the node pages that answered make a complete listing. An acknowledged object is on at least W
 * nodes, so it is missing from the merge only when all W of them are missing: up to W−1 nodes may be
 * missing. (N−W, the bound used before, is the same only for N=3, W=2; for N=5, W=2 it would accept a
 * listing that misses acknowledged objects.)
 */
export function listingComplete(answered: number, asked: number, writeQuorum: number): boolean {
  assert(answered >= 0 && answered <= asked, () => `answered ${answered} of ${asked}`);
  return asked - answered <= Math.max(0, writeQuorum - 1);
}

// ---- one S3 page ----

/** Where a page starts. "After a prefix" skips every key under it: S3's rule for a marker that is a common prefix. */
export type ListCursor =
  | { readonly kind: "start" }
  | { readonly kind: "after-key"; readonly key: string }
  | { readonly kind: "after-prefix"; readonly prefix: string };

export type ListEntry = { readonly kind: "key"; readonly version: ObjectVersion } | { readonly kind: "prefix"; readonly prefix: string };

export interface ListRequest {
  readonly prefix: string;
  /** Absent or empty: no folding. */
  readonly delimiter?: string;
  readonly start: ListCursor;
  /** Keys plus common prefixes on the page, 1 to LIST_PAGE_KEYS_MAX. */
  readonly maxKeys: number;
  /**
   * For listed keys that are a name plus a suffix (an upload record: bucket/key, NUL, upload id): where the
   * name ends. Only the name folds under the delimiter. Absent: the whole key is the name.
   */
  readonly nameEnd?: (key: string) => number;
}

export interface ListResult {
  readonly entries: readonly ListEntry[];
  /** True exactly when an entry exists after the page's last one. */
  readonly truncated: boolean;
  /** Where the next page starts, when truncated. */
  readonly next: ListCursor | undefined;
}

/** One merged page of newest versions (tombstones included) with keys after `after`, at most `limit` of them. */
export type MergedListingRead = (after: string, limit: number) => Promise<MergedPage>;

export const LIST_PAGE_KEYS_MAX = 1000;

/** The largest code point: a prefix followed by it sorts after every key under that prefix (but one that continues with it). */
const AFTER_EVERYTHING = String.fromCodePoint(0x10ffff);

/**
 * The common prefix a key folds into under `delimiter`, if any. Only the first `nameEnd` characters of the key
 * are the name that folds (a listed record named by a name and a suffix folds by its name alone).
 */
export function foldedPrefix(key: string, prefix: string, delimiter: string | undefined, nameEnd: number = key.length): string | undefined {
  if (!delimiter) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 || at + delimiter.length > nameEnd ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * A cursor from a client's marker (v1 `marker`, v2 `start-after`, ListObjectVersions `key-marker`): a marker
 * that is itself a common prefix of this listing skips everything under it, as S3 does, so that a client
 * paging with NextMarker never sees the same prefix twice.
 */
export function cursorOfMarker(marker: string, prefix: string, delimiter: string | undefined): ListCursor {
  if (marker === "") return { kind: "start" };
  if (marker.startsWith(prefix) && foldedPrefix(marker, prefix, delimiter) === marker) return { kind: "after-prefix", prefix: marker };
  return { kind: "after-key", key: marker };
}

function afterOf(cursor: ListCursor, prefix: string): string {
  switch (cursor.kind) {
    case "start":
      return "";
    case "after-key":
      // A marker before the prefix starts at the prefix's first key (the nodes filter by prefix).
      return compareKeys(cursor.key, prefix) < 0 ? "" : cursor.key;
    case "after-prefix":
      return cursor.prefix + AFTER_EVERYTHING;
  }
}

/**
 * Cuts one S3 page from the merged listing: keys in order, tombstones hidden, keys under a delimiter folded
 * into their common prefix; a fetch after a truncated batch starts past the last prefix, not inside it.
 * Terminates: every fetch either ends the page or starts strictly after the previous one (asserted), and the
 * `signal` stops it between fetches once the client is gone.
 */
export async function listPage(readMerged: MergedListingRead, request: ListRequest, signal?: AbortSignal, bugs: PlantedBugs = noPlantedBugs): Promise<ListResult> {
  assert(Number.isInteger(request.maxKeys) && request.maxKeys >= 1 && request.maxKeys <= LIST_PAGE_KEYS_MAX, () => `maxKeys ${request.maxKeys}`);
  const entries: ListEntry[] = [];
  let after = afterOf(request.start, request.prefix);
  // A prefix already on the page or skipped by the cursor: keys that still fold into it (they continue with
  // U+10FFFF, past the jump) are part of it, not new entries.
  let foldedLast = request.start.kind === "after-prefix" ? request.start.prefix : undefined;
  const cursorOf = (entry: ListEntry): ListCursor => (entry.kind === "key" ? { kind: "after-key", key: entry.version.key } : { kind: "after-prefix", prefix: entry.prefix });
  for (;;) {
    signal?.throwIfAborted();
    const limit = Math.min(LIST_PAGE_KEYS_MAX, request.maxKeys - entries.length + 1);
    const batch = await readMerged(after, limit);
    const fetchedAfter = after;
    for (const v of batch.versions) {
      if (compareKeys(v.key, after) <= 0) continue; // a node that does not honour `after`: never go back
      after = v.key;
      if (v.deleted) continue;
      const folded = foldedPrefix(v.key, request.prefix, request.delimiter, request.nameEnd?.(v.key));
      if (folded !== undefined && folded === foldedLast) continue;
      if (entries.length === request.maxKeys) {
        const skipped = bugs.cursorSkipsKey === true && folded === undefined;
        return { entries, truncated: true, next: skipped ? { kind: "after-key", key: v.key } : cursorOf(entries[entries.length - 1]!) };
      }
      if (folded === undefined) {
        entries.push({ kind: "key", version: v });
        continue;
      }
      entries.push({ kind: "prefix", prefix: folded });
      foldedLast = folded;
      // Skip the prefix's other keys, never go back: a key continuing with U+10FFFF already sorts past the
      // target. The rest of the batch is read on (nodes that jump past prefixes fill it with the next ones).
      const target = folded + AFTER_EVERYTHING;
      if (compareKeys(target, after) > 0) after = target;
    }
    // Not truncated: the merged page held every key after `fetchedAfter`, and all of them were read.
    if (!batch.truncated) return { entries: bugs.listingDropsLastPage === true && request.start.kind !== "start" ? [] : entries, truncated: false, next: undefined };
    // The loop ends: each round moves `after` strictly forward through a finite key space.
    assert(compareKeys(after, fetchedAfter) > 0, () => `listing made no progress past ${JSON.stringify(fetchedAfter)}`);
  }
}

// ---- one node's page ----

export interface NodeListingRequest {
  readonly prefix: string;
  readonly after: string;
  readonly limit: number;
  readonly delimiter?: string;
}

/** One read of a node's index: committed newest versions after `after` (in key order), and where the read ended. */
export type NodeListingRead<E> = (after: string, limit: number) => Promise<Result<{ readonly versions: readonly ObjectVersion[]; readonly exhausted: boolean; readonly lastKey: string | undefined }, E>>;

/**
 * One node's answer to a list-bucket request: its newest committed version of each key after `after`, in key
 * order, at most `limit`; `done` when it holds nothing after the last. With a delimiter, once it has returned
 * a live key under a common prefix it jumps past that prefix in one index read instead of returning every key
 * under it: one live key is all the router needs to show the prefix, so a page costs O(nodes × page) reads,
 * not one fan-out per prefix. A tombstone proves nothing about its prefix, so the walk goes on inside it
 * (and mergeListingPages handles a live key that another node's newer tombstone makes dead).
 */
export async function nodeListingPage<E>(read: NodeListingRead<E>, request: NodeListingRequest): Promise<Result<NodePage, E>> {
  assert(request.limit >= 1, () => `limit ${request.limit}`);
  const versions: ObjectVersion[] = [];
  let cursor = request.after;
  let skipping: string | undefined;
  for (;;) {
    const batch = await read(cursor, request.limit);
    if (!batch.ok) return batch;
    const readFrom = cursor;
    let jumped = false;
    for (const v of batch.value.versions) {
      if (compareKeys(v.key, cursor) <= 0) continue;
      cursor = v.key;
      const folded = foldedPrefix(v.key, request.prefix, request.delimiter);
      if (folded !== undefined && folded === skipping) continue; // keys past the jump that still fold into it
      if (versions.length === request.limit) return ok({ versions, done: false });
      versions.push(v);
      if (folded !== undefined && !v.deleted) {
        skipping = folded;
        // A key that continues with U+10FFFF sorts past the jump's target: then walk on (skipping) instead.
        const target = folded + AFTER_EVERYTHING;
        if (compareKeys(target, cursor) > 0) {
          cursor = target;
          jumped = true;
          break;
        }
      }
    }
    if (!jumped) {
      if (batch.value.exhausted) return ok({ versions, done: true });
      // Rows the read stepped over (pending, older) still move the cursor.
      const lastKey = batch.value.lastKey;
      if (lastKey !== undefined && compareKeys(lastKey, cursor) > 0) cursor = lastKey;
    }
    assert(compareKeys(cursor, readFrom) > 0, () => `node listing made no progress past ${JSON.stringify(readFrom)}`);
  }
}
