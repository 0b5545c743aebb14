// The oracle's check of bucket listings (issue 9 item 4), from its own model: the keys clients wrote, what was
// acknowledged when the listing began, and S3's page rules, never the code under test (no core/listing.ts).
// Guarantees: a violation is recorded on the oracle when a listing, paged to its end (or as far as it went),
//   - misses a key whose newest write acknowledged before the listing began is a put, and that no delete begun
//     before the listing ended can explain (under a delimiter: misses the common prefix it folds into);
//   - shows a key with a version no client wrote for it, or older than the newest write acknowledged before
//     the listing began (a key deleted before it began, shown again, is such a version);
//   - shows a common prefix that no put begun before the listing ended could have filled;
//   - repeats or reorders entries across pages (entries in byte order, each at most once, none inside a
//     prefix already shown), shows an entry outside the prefix or before the start marker, or a page longer
//     than max-keys.
// Assumes: keys are ASCII (sim/workload.ts names them), so byte order is code-unit order.

import type { ObjectVersion } from "../core/object-version.ts";
import type { Acked, Oracle } from "./oracle.ts";

/** The oracle's own view of a listing's parameters, as the client sent them. */
export interface ListingShape {
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  /** start-after: "" for none. */
  readonly startAfter: string;
}

export type ListedEntry = { readonly kind: "key"; readonly version: ObjectVersion } | { readonly kind: "prefix"; readonly prefix: string };

export interface ListingToken {
  readonly shape: ListingShape;
  readonly startMs: number;
  readonly ackedAtStart: Map<string, Acked>;
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The name a key shows under in this listing: itself, or the common prefix it folds into. */
function shownAs(key: string, shape: ListingShape): string {
  if (shape.delimiter === "") return key;
  const at = key.indexOf(shape.delimiter, shape.prefix.length);
  return at < 0 ? key : key.slice(0, at + shape.delimiter.length);
}

export class ListingCheck {
  listingsChecked = 0;
  listingsFailed = 0;
  entriesChecked = 0;

  constructor(
    private readonly oracle: Oracle,
    private readonly now: () => number,
  ) {}

  started(shape: ListingShape): ListingToken {
    return { shape, startMs: this.now(), ackedAtStart: this.oracle.ackedSnapshot() };
  }

  failed(): void {
    this.listingsFailed += 1;
  }

  /**
   * A listing's pages, in order. `complete`: the last page said it was not truncated; otherwise the listing was
   * stopped early and only names up to its last entry are required.
   */
  ended(token: ListingToken, pages: readonly (readonly ListedEntry[])[], complete: boolean): void {
    this.listingsChecked += 1;
    const { shape } = token;
    const endMs = this.now();
    const label = `listing (prefix ${JSON.stringify(shape.prefix)}, delimiter ${JSON.stringify(shape.delimiter)}, max-keys ${shape.maxKeys}, start-after ${JSON.stringify(shape.startAfter)}) begun at ${token.startMs.toFixed(3)}`;
    const shown = new Set<string>();
    const prefixes: string[] = [];
    let last: string | undefined;
    for (const [index, page] of pages.entries()) {
      if (page.length > shape.maxKeys) return this.oracle.violate("-", `${label}: page ${index + 1} holds ${page.length} entries, more than max-keys`);
      for (const entry of page) {
        const name = entry.kind === "key" ? entry.version.key : entry.prefix;
        if (!name.startsWith(shape.prefix)) return this.oracle.violate(name, `${label}: shows ${name}, outside the prefix`);
        if (last !== undefined && byteOrder(name, last) <= 0) return this.oracle.violate(name, `${label}: shows ${name} after ${last} (out of order or repeated)`);
        // A common prefix may sort before a marker inside it (its keys after the marker fold into it), never
        // when the marker is that prefix itself (S3 skips it whole).
        const markerInside = entry.kind === "prefix" && shape.startAfter.startsWith(name) && shape.startAfter !== name;
        if (byteOrder(name, shape.startAfter) <= 0 && !markerInside) return this.oracle.violate(name, `${label}: shows ${name}, not after the start marker`);
        const inside = prefixes.find((p) => name.startsWith(p));
        if (inside !== undefined) return this.oracle.violate(name, `${label}: shows ${name} inside common prefix ${inside}, shown before`);
        last = name;
        shown.add(name);
        this.entriesChecked += 1;
        if (entry.kind === "prefix") {
          prefixes.push(entry.prefix);
          if (shownAs(entry.prefix, shape) !== entry.prefix) return this.oracle.violate(name, `${label}: shows common prefix ${name}, which does not end at the delimiter`);
          const fillable = [...this.oracle.knownKeys()].some((k) => k.startsWith(entry.prefix) && this.oracle.putBegunBy(k, endMs));
          if (!fillable) return this.oracle.violate(name, `${label}: shows common prefix ${name}, under which no put had begun`);
          continue;
        }
        if (shownAs(entry.version.key, shape) !== entry.version.key) return this.oracle.violate(name, `${label}: shows key ${name}, which folds under the delimiter`);
        this.checkVersion(label, token, entry.version);
      }
    }
    // Completeness: every key acknowledged live at the start shows, unless a delete begun in time explains it.
    for (const [key, acked] of token.ackedAtStart) {
      if (acked.kind !== "put" || !key.startsWith(shape.prefix)) continue;
      const name = shownAs(key, shape);
      if (byteOrder(key, shape.startAfter) <= 0) continue; // at or before the marker
      if (name !== key && name === shape.startAfter) continue; // a marker that is a common prefix skips it whole
      if (!complete && (last === undefined || byteOrder(name, last) > 0)) continue;
      if (shown.has(name)) continue;
      if (this.oracle.deleteBegunBy(key, acked.stamp, endMs) || this.oracle.destroyedThrough(key, acked.stamp)) continue;
      const what = name === key ? `key ${key}` : `common prefix ${name} (of ${key})`;
      return this.oracle.violate(key, `${label}: misses ${what}, whose put ${acked.stamp} was acknowledged before the listing began`);
    }
  }

  private checkVersion(label: string, token: ListingToken, version: ObjectVersion): void {
    const key = version.key;
    const written = this.oracle.writtenContent(version.checksum);
    if (written === undefined || written.key !== key) return this.oracle.violate(key, `${label}: shows ${key}@${version.stamp} (checksum ${version.checksum}), which no client wrote for this key`);
    const acked = token.ackedAtStart.get(key);
    if (acked !== undefined && version.stamp < acked.stamp && !this.oracle.destroyedThrough(key, acked.stamp)) {
      this.oracle.violate(key, `${label}: shows ${key}@${version.stamp}, but ${acked.kind} ${acked.stamp} was acknowledged before the listing began${acked.kind === "delete" ? " (a deleted key)" : ""}`);
    }
  }
}
