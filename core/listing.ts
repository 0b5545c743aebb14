// Merging the per-node pages of a bucket listing into one page (DESIGN.md, "Listing").
// Guarantees: the merged page holds, for every key up to its cut, the newest version any answering node
// reported (tombstones included, for the caller to hide), in key order, at most `limit` keys; it is cut
// at the smallest last key of any node page that was full, so no key below the cut can be missing from
// a node that stopped early. `truncated` is true exactly when some node may hold keys after the cut.
// Assumes: each node page is sorted by key, holds the newest version per key that node has, and reports
// `done` when it holds no key after its last one.
import { compareKeys } from "./key-order.ts";
import type { ObjectVersion } from "./object-version.ts";

export interface NodePage {
  readonly versions: readonly ObjectVersion[];
  readonly done: boolean;
}

export interface MergedPage {
  readonly versions: readonly ObjectVersion[];
  readonly truncated: boolean;
}

export function mergeListingPages(pages: readonly NodePage[], limit: number): MergedPage {
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
  const keys = [...newest.keys()].sort(compareKeys);
  const versions = keys.slice(0, limit).map((k) => newest.get(k)!);
  const truncated = keys.length > limit || cut !== undefined;
  return { versions, truncated };
}
