// The oracle's check of read repair (issue 9 item 7: "read repair that never writes back" went unnoticed, since
// the repair loop heals the same copies a little later). The router reports, with every read that found an
// object, which primaries of its current ring answered with an older version or none (what it saw, not what
// read repair decided), and the repair's own account of each copy. A violation is recorded when
//   - a stale primary got no read repair copy at all;
//   - a copy reported made is not on that primary (it holds neither the version nor a newer one), although the
//     primary has not crashed since the read.
// A copy that failed (the primary went away, a lost message) is counted, not a violation: read repair is best
// effort, and the repair loop owes the rest.
// Assumes: the census (sim/world.ts) is updated as a commit lands, so the check runs when the repair settles.

import type { RepairedCopy } from "../core/coordinator.ts";
import type { NodeId } from "../core/ids.ts";
import type { ObjectVersion } from "../core/object-version.ts";

export interface ReadRepairWorld {
  /** The incarnation of `node` while it is up; undefined when it is down. */
  incarnationOf(node: NodeId): number | undefined;
  /** Does `node` hold a committed copy of `key` at `stamp` or newer? */
  holdsAtLeast(node: NodeId, key: string, stamp: string): boolean;
}

export interface ReadRepairReport {
  readonly stale: readonly NodeId[];
  readonly done: Promise<readonly RepairedCopy[]>;
}

export class ReadRepairCheck {
  copiesVerified = 0;
  copiesFailed = 0;

  constructor(
    private readonly world: ReadRepairWorld,
    private readonly violate: (key: string, what: string) => void,
  ) {}

  observe(key: string, version: ObjectVersion, report: ReadRepairReport): void {
    if (report.stale.length === 0 || version.deleted) return;
    const incarnations = new Map(report.stale.map((n) => [n, this.world.incarnationOf(n)] as const));
    void report.done.then((copies) => {
      for (const node of report.stale) {
        const copy = copies.find((c) => c.node === node);
        if (copy === undefined) {
          this.violate(key, `read of ${key}@${version.stamp}: primary ${node} answered behind and read repair sent it nothing`);
          continue;
        }
        if (!copy.ok) {
          this.copiesFailed += 1;
          continue;
        }
        const before = incarnations.get(node);
        if (before === undefined || this.world.incarnationOf(node) !== before) continue; // down, or crashed since: unsynced writes may be gone
        if (this.world.holdsAtLeast(node, key, version.stamp)) this.copiesVerified += 1;
        else this.violate(key, `read repair reported ${key}@${version.stamp} copied to ${node}, which holds neither it nor a newer version`);
      }
    });
  }
}
