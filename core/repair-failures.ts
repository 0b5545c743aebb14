// Repair failures counted by cause. A round records each thing that went wrong (the step, the peer, the
// partition, the error) in its report; the repair loop (core/repair-loop.ts) adds them up and says, once per cause
// per minute, how many there were and what the latest one was. Without this a round that failed the same way
// thousands of times said nothing at the default log level (issue 9).
// Guarantees: every failure counted in RepairReport.failures is in failuresByCause under exactly one cause, so
// the two totals agree (asserted where reports are added); a cause is `${step}:${error kind}`, a short fixed set.
import { assert } from "./assert.ts";
import type { NodeId, PartitionId } from "./ids.ts";

/** The step of a repair round that failed. */
export type RepairStep =
  | "partitions-held" // the local store could not say which partitions it holds
  | "digest" // a digest, local or a peer's, could not be had
  | "list-peer" // a peer's list-partition failed
  | "list-local" // the local store's listing failed
  | "head-local" // the local store could not say what it holds of a key
  | "pull" // fetching a body from a peer failed, or it did not match its entry
  | "write-local" // storing a pulled body failed
  | "head-peer" // a primary could not say whether it holds a version
  | "push" // pushing a local copy to a primary or handoff failed
  | "drop-local" // dropping a superseded or delivered local copy failed
  | "drop-tombstone" // dropping a collected tombstone (or an older version) failed
  | "round"; // the round itself threw (a bug, or a store that throws instead of returning a failure)

export interface RepairFailure {
  readonly step: RepairStep;
  readonly partition?: PartitionId;
  readonly peer?: NodeId;
  /** The failure's kind (TransportFailure or StoreFailure kind, or a repair-made one like "mismatch"). */
  readonly kind: string;
  readonly detail: string;
}

export interface FailureTally {
  count: number;
  latest: RepairFailure;
}

export type FailuresByCause = Record<string, FailureTally>;

export const causeOf = (failure: RepairFailure): string => `${failure.step}:${failure.kind}`;

/** Counts one failure into a report's total and its tally by cause. */
export function noteFailure(into: { failures: number; failuresByCause: FailuresByCause }, failure: RepairFailure): void {
  into.failures += 1;
  const cause = causeOf(failure);
  const tally = into.failuresByCause[cause];
  if (tally === undefined) into.failuresByCause[cause] = { count: 1, latest: failure };
  else {
    tally.count += 1;
    tally.latest = failure;
  }
}

/** Adds one report's tallies to another's. */
export function addFailures(into: { failures: number; failuresByCause: FailuresByCause }, from: { failures: number; failuresByCause: FailuresByCause }): void {
  into.failures += from.failures;
  for (const [cause, tally] of Object.entries(from.failuresByCause)) {
    const mine = into.failuresByCause[cause];
    if (mine === undefined) into.failuresByCause[cause] = { count: tally.count, latest: tally.latest };
    else {
      mine.count += tally.count;
      mine.latest = tally.latest;
    }
  }
  assert(into.failures === Object.values(into.failuresByCause).reduce((sum, t) => sum + t.count, 0), "every repair failure is counted under one cause");
}
