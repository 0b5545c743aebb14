// Which partitions a node holds data of without being one of their primaries (hinted handoff copies,
// re-replicated copies, data left out of place by a ring change), as the node itself knows it and as it
// reports it in heartbeats.
// Why: such a copy may be older than a tombstone its primaries hold. Once every primary has the tombstone it
// could be collected, and the stale copy, pushed to the primaries later (its node was down all that time),
// would bring the deleted object back. So tombstones of a partition are collected only while every other
// node of the ring reports, freshly, that it holds nothing of that partition (core/repair.ts).
// Guarantees:
//   - report() never under-states: "unknown" until the first census after start and after every ring
//     change; a census keeps every partition noted as written since it began, so a write racing the census
//     is not forgotten; more than `partitionsMax` partitions are reported as "unknown" (bounded heartbeats).
//   - reports are ordered by (boot, seq): a node's newer incarnation has a greater boot; seq grows per report.
// Assumes: the host calls noteForeignWrite for every write into a partition the node is not a primary of,
// runs a census (beginCensus / endCensus) from the partitions its store holds, and calls forget() whenever its
// ring view changes.

import type { PartitionId } from "./ids.ts";

export interface ForeignReport {
  /** Greater for every new incarnation of the node (its start time, in the runtime). */
  readonly boot: number;
  readonly seq: number;
  /** Partitions held as non-primary, ascending; "unknown" when the node cannot say (yet). */
  readonly partitions: readonly PartitionId[] | "unknown";
}

/** Is `a` a newer report than `b` from the same node? */
export function isNewerForeignReport(a: ForeignReport, b: ForeignReport | undefined): boolean {
  return b === undefined || a.boot > b.boot || (a.boot === b.boot && a.seq > b.seq);
}

/** May the node that sent `report` hold data of `partition` it is not a primary of? (No report: it may.) */
export function mayHoldForeign(report: ForeignReport | undefined, partition: PartitionId): boolean {
  if (report === undefined || report.partitions === "unknown") return true;
  return report.partitions.includes(partition);
}

export class ForeignHoldings {
  private readonly held = new Set<PartitionId>();
  /** Partition → clock value of its latest foreign write. */
  private readonly writtenAt = new Map<PartitionId, number>();
  private clock = 0;
  private known = false;
  private forgottenAt = 0;
  private seq = 0;

  constructor(
    readonly boot: number,
    private readonly partitionsMax = 256,
  ) {}

  /** A write landed in a partition this node is not a primary of. */
  noteForeignWrite(partition: PartitionId): void {
    this.clock++;
    this.held.add(partition);
    this.writtenAt.set(partition, this.clock);
  }

  /** The ring view changed: data may have become out of place; unknown until the next census. */
  forget(): void {
    this.clock++;
    this.known = false;
    this.forgottenAt = this.clock;
  }

  /** Call just before listing the partitions the store holds; pass the token to endCensus. */
  beginCensus(): number {
    return ++this.clock;
  }

  /** The foreign partitions the store held at the census; writes noted since it began are kept. */
  endCensus(token: number, foreign: readonly PartitionId[]): void {
    this.held.clear();
    for (const p of foreign) this.held.add(p);
    for (const [p, at] of this.writtenAt) {
      if (at > token) this.held.add(p);
      else this.writtenAt.delete(p);
    }
    if (this.forgottenAt < token) this.known = true;
  }

  report(): ForeignReport {
    this.seq++;
    const partitions = this.known && this.held.size <= this.partitionsMax ? [...this.held].sort((a, b) => a - b) : "unknown";
    return { boot: this.boot, seq: this.seq, partitions };
  }
}
