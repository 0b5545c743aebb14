// The oracle's check that an acknowledged write is where the write quorum says (issue 9 item 7: "writes during a
// ring change sent only to the new ring" went unnoticed: reads merge both rings, so only a reader still on the
// old ring could miss them). At the moment a PUT is acknowledged, its version must be committed (the census of
// the disks, not the coordinator's account) on W primaries of every ring the router routed by when the write
// began, counting a handoff in place of a down primary only where that handoff claimed to stand in for it.
// Skipped when the run allows sloppy quorums (any W nodes may then acknowledge).
// Assumes: the census is updated as each commit lands, before its reply reaches the router.

import type { NodeId } from "../core/ids.ts";
import { partitionOf, primariesOf } from "../core/placement.ts";
import type { Ring } from "../core/ring.ts";

export interface WriteQuorumReport {
  readonly bucket: string;
  readonly key: string;
  readonly stamp: string;
  /** The rings of the router's view when the write began (current, and previous during a ring change). */
  readonly rings: readonly Ring[];
  readonly standIns: ReadonlyMap<NodeId, NodeId>;
}

export class WriteQuorumCheck {
  writesChecked = 0;

  constructor(
    private readonly writeQuorum: number,
    private readonly holds: (node: NodeId, key: string, stamp: string) => boolean,
    private readonly violate: (key: string, what: string) => void,
  ) {}

  acknowledged(report: WriteQuorumReport): void {
    this.writesChecked += 1;
    for (const ring of report.rings) {
      const primaries = primariesOf(ring, partitionOf(ring, report.bucket, report.key));
      const onPrimaries = primaries.filter((p) => this.holds(p, report.key, report.stamp));
      const standingIn = [...report.standIns].filter(([handoff, primary]) => primaries.includes(primary) && !onPrimaries.includes(primary) && this.holds(handoff, report.key, report.stamp));
      const needed = Math.min(this.writeQuorum, primaries.length);
      if (onPrimaries.length + standingIn.length < needed) {
        this.violate(report.key, `PUT ${report.key}@${report.stamp} acknowledged while committed on ${onPrimaries.length} of ring epoch ${ring.epoch}'s primaries (${primaries.join(",")}: ${onPrimaries.join(",") || "none"}) and ${standingIn.length} stand-ins, W=${this.writeQuorum}`);
        return;
      }
    }
  }
}
