// The repair loop of a storage node: rounds of core/repair.ts, one at a time, paced. The runtime
// (runtime/node/main.ts) and the simulator (sim/core-logic.ts) both run this loop; they differ only in the
// settings and in what they do around a round.
// Guarantees:
//   - A pause follows every round: catchUpIntervalMs while the node is behind on a partition (it cannot count
//     toward R until it has caught up), busyIntervalMs after a round that moved copies between nodes, caught
//     up on a partition or failed, or while the node holds data it is not a primary of, idleIntervalMs
//     otherwise. A round whose only work was local clean-up (a superseded version, a collected tombstone, a
//     dead pending row dropped) is not busy: every overwrite and delete leaves such work, and on a node that
//     takes writes a busy pace would then run a whole round, with its digest exchange with every peer, after
//     each one (measured: a round every 10-80 ms during a run of 64 MiB overwrites, 6-10 % of the node's CPU).
//   - A round that failed without making progress backs off: the k-th such round in a row waits at least
//     failureBackoffMsMin * 2^(k-1), capped at failureBackoffMsMax, less up to half of it at random (from the
//     Rng port), so nodes that fail against the same peer do not retry in step. A round that made progress
//     resets k, and waits at least one jittered failureBackoffMsMin if it failed too: one copy that keeps
//     failing must neither spin the loop nor throttle a catch-up that is moving.
//   - Every failure is counted by cause (core/repair-failures.ts); each cause is logged at most once per
//     logIntervalMs (a minute by default), with the count since its last line, the total, and the peer,
//     partition and error of its latest occurrence.
// Assumes: the host's sleep resolves after about the time asked (virtual time in the simulator).

import { assert } from "./assert.ts";
import { primaryPartitions } from "./catch-up.ts";
import type { Log, Rng } from "./ports.ts";
import { type FailuresByCause, type FailureTally, noteFailure } from "./repair-failures.ts";
import { type RepairContext, type RepairReport, type RepairState, emptyRepairReport, runRepairRound } from "./repair.ts";

export interface RepairPacing {
  readonly catchUpIntervalMs: number;
  readonly busyIntervalMs: number;
  readonly idleIntervalMs: number;
  readonly failureBackoffMsMin: number;
  readonly failureBackoffMsMax: number;
  /** Each cause of failure is logged at most once per this interval. */
  readonly logIntervalMs: number;
}

export function validatePacing(pacing: RepairPacing): RepairPacing {
  for (const [name, value] of Object.entries(pacing)) assert(Number.isFinite(value) && value >= 0, () => `repair pacing ${name} ${value} must be a finite number >= 0`);
  assert(pacing.failureBackoffMsMin > 0 && pacing.failureBackoffMsMin <= pacing.failureBackoffMsMax, () => `repair backoff ${pacing.failureBackoffMsMin}..${pacing.failureBackoffMsMax} ms must be a positive range`);
  return pacing;
}

/** Did the round change anything (copies moved or dropped, partitions caught up)? */
export function madeProgress(report: RepairReport): boolean {
  return report.pulled + report.pushed + report.handoffDropped + report.writtenOff + report.supersededDropped + report.tombstonesCollected + report.pendingDropped + report.caughtUp.length > 0;
}

/**
 * Does the node hold data of a partition it is a primary of in no ring of its view (handoff or moved data)?
 * Such data must move on soon, so its holder repairs at the busy pace. A store that cannot say: assume so.
 */
export async function holdsForeignData<Body>(ctx: Pick<RepairContext<Body>, "store" | "rings" | "self">): Promise<boolean> {
  const held = await ctx.store.partitionsHeld();
  if (!held.ok) return true;
  const mine = new Set(primaryPartitions(ctx.rings(), ctx.self));
  return held.value.some((p) => !mine.has(p));
}

/**
 * Did the round move data between nodes or change what the node may vouch for? Such a round is followed soon
 * by another: more copies are likely waiting. Local clean-up alone is not.
 */
export function movedCopies(report: RepairReport): boolean {
  return report.pulled + report.pushed + report.handoffDropped + report.caughtUp.length > 0;
}

/**
 * Is the node busy after this round (see the module comment)? `holdsForeign` is asked last, and only when
 * nothing else decides it: it reads the store. A node that is behind paces by catch-up anyway.
 */
export async function roundIsBusy(report: RepairReport, behind: boolean, holdsForeign: () => Promise<boolean>): Promise<boolean> {
  return movedCopies(report) || report.failures > 0 || (!behind && (await holdsForeign()));
}

/** Consecutive rounds that failed without progress; the backoff doubles with each. */
export interface Backoff {
  failedRounds: number;
}

/**
 * The pause after a round (see the module comment); draws from `rng` only when the round failed. `busy`: the
 * round moved copies or failed, or the node holds data it is not a primary of.
 */
export function pauseAfterRound(pacing: RepairPacing, backoff: Backoff, rng: Rng, round: { readonly report: RepairReport; readonly behind: boolean; readonly busy: boolean }): number {
  const { report } = round;
  const progress = madeProgress(report);
  assert(!(movedCopies(report) || report.failures > 0) || round.busy, "a round that moved copies or failed is busy");
  const normal = round.behind ? pacing.catchUpIntervalMs : round.busy ? pacing.busyIntervalMs : pacing.idleIntervalMs;
  if (report.failures === 0) {
    backoff.failedRounds = 0;
    return normal;
  }
  backoff.failedRounds = progress ? 0 : backoff.failedRounds + 1;
  const steps = Math.min(backoff.failedRounds, 30); // 2^30 ms is past any cap; keeps the power finite
  const ceilingMs = Math.min(pacing.failureBackoffMsMax, pacing.failureBackoffMsMin * 2 ** Math.max(0, steps - 1));
  const jitteredMs = ceilingMs / 2 + (ceilingMs / 2) * rng.nextFloat();
  const pause = Math.max(normal, jitteredMs);
  assert(pause >= 0 && pause <= Math.max(normal, pacing.failureBackoffMsMax), () => `repair pause ${pause} ms outside its bounds`);
  return pause;
}

/** Counts failures by cause across rounds and logs each cause at most once per interval. */
export class RepairFailureLog {
  private readonly totals = new Map<string, number>();
  private readonly unlogged = new Map<string, number>();
  private readonly loggedAtMs = new Map<string, number>();

  constructor(
    private readonly log: Log,
    private readonly node: string,
    private readonly intervalMs: number,
  ) {}

  /** Total failures of `cause` since the node started. */
  total(cause: string): number {
    return this.totals.get(cause) ?? 0;
  }

  record(byCause: FailuresByCause, nowMs: number): void {
    for (const [cause, tally] of Object.entries(byCause) as [string, FailureTally][]) {
      this.totals.set(cause, this.total(cause) + tally.count);
      const pending = (this.unlogged.get(cause) ?? 0) + tally.count;
      const last = this.loggedAtMs.get(cause);
      if (last !== undefined && nowMs - last < this.intervalMs) {
        this.unlogged.set(cause, pending);
        continue;
      }
      const { step: _step, ...latest } = tally.latest;
      this.log.warn("repair.failure", { node: this.node, cause, count: pending, total: this.total(cause), ...latest });
      this.loggedAtMs.set(cause, nowMs);
      this.unlogged.set(cause, 0);
    }
  }
}

/** What every background loop of a node (repair, scrub) takes from its host. */
export interface NodeLoopHost<Body> {
  readonly repair: RepairContext<Body>;
  sleep(ms: number): Promise<void>;
  /** False once the node is stopping: the loop ends after the round or step in progress. */
  running(): boolean;
  /** A round or step that threw: the runtime logs it and the loop waits; the simulator rethrows (a bug found). */
  onThrow(error: unknown): void;
}

export interface RepairLoopHost<Body> extends NodeLoopHost<Body> {
  readonly state: RepairState;
  readonly pacing: RepairPacing;
  readonly rng: Rng;
  /** Is the node behind on some partition (core/catch-up.ts)? */
  behind(): boolean;
  /** A round's report and the time it took, for the host's own log line or metrics. */
  onRound?(report: RepairReport, elapsedMs: number): void;
}

/** Runs until host.running() is false; the first round waits startDelayMs (heartbeats must land first). */
export async function runRepairLoop<Body>(host: RepairLoopHost<Body>, startDelayMs: number, failureLog?: RepairFailureLog): Promise<void> {
  const pacing = validatePacing(host.pacing);
  const failures = failureLog ?? new RepairFailureLog(host.repair.log, host.repair.self, pacing.logIntervalMs);
  const backoff: Backoff = { failedRounds: 0 };
  await host.sleep(startDelayMs);
  while (host.running()) {
    const startedMs = host.repair.nowMs();
    let report: RepairReport;
    try {
      report = await runRepairRound(host.repair, host.state);
    } catch (error) {
      host.onThrow(error);
      // A round that threw counts as one that failed without progress: it backs off like one.
      report = emptyRepairReport();
      noteFailure(report, { step: "round", kind: "threw", detail: error instanceof Error ? error.message : String(error) });
    }
    failures.record(report.failuresByCause, host.repair.nowMs());
    host.onRound?.(report, host.repair.nowMs() - startedMs);
    const behind = host.behind();
    const busy = await roundIsBusy(report, behind, () => holdsForeignData(host.repair));
    await host.sleep(pauseAfterRound(pacing, backoff, host.rng, { report, behind, busy }));
  }
}
