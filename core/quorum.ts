// Small helpers shared by the coordinator and repair: quorum sizes, waiting on concurrent requests, and a
// bounded-concurrency map.
// Guarantees: quorum sizes are never above the ring's primary count nor below 1 (0 only with a planted
// bug); `Gate.until` resolves once its predicate holds or nothing is outstanding, never earlier.
// Assumes: tasks handed to `Gate.track` settle (the transport turns lost messages into "timeout").

import type { PlantedBugs } from "./planted-bugs.ts";
import type { Transport, RequestKind, RequestOf, ReplicaResponse, TransportFailure } from "./ports.ts";
import type { NodeId } from "./ids.ts";
import { type Result, err } from "./result.ts";
import type { Ring } from "./ring.ts";

/** W for one ring: min(W, primaries), so a cluster smaller than N still accepts writes. */
export function writeQuorumNeeded(ring: Ring, writeQuorum: number, faults: PlantedBugs | undefined): number {
  const needed = Math.min(writeQuorum, ring.replicaCount);
  // PLANTED BUG ackAtWMinusOne: acknowledge (and commit) at one fewer than W.
  if (faults?.ackAtWMinusOne) return Math.max(1, needed - 1);
  return needed;
}

/** R for one ring: min(R, primaries). */
export function readQuorumNeeded(ring: Ring, readQuorum: number): number {
  return Math.min(readQuorum, ring.replicaCount);
}

/**
 * Tracks concurrent tasks and lets a caller wait until a condition over their results holds, or until
 * nothing is outstanding any more (then the condition can no longer change by itself).
 */
export class Gate {
  private outstanding = 0;
  private waiters: (() => void)[] = [];
  private readonly all: Promise<unknown>[] = [];
  /** Exceptions thrown by tracked tasks (a bug in a port implementation). */
  readonly errors: unknown[] = [];

  track<T>(task: Promise<T>, onSettled: (value: T) => void): void {
    this.outstanding += 1;
    const done = task.then(
      (value) => {
        this.outstanding -= 1;
        onSettled(value);
        this.wake();
      },
      (error: unknown) => {
        // Tasks are meant to return failures as values (safeSend); an exception is kept, not rethrown,
        // so one broken task cannot leave the others unobserved.
        this.outstanding -= 1;
        this.errors.push(error);
        this.wake();
      },
    );
    this.all.push(done);
  }

  get pending(): number {
    return this.outstanding;
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition() && this.outstanding > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves when every task tracked so far (and any tracked while waiting) has settled. */
  async settled(): Promise<void> {
    let seen = 0;
    while (seen < this.all.length) {
      const batch = this.all.slice(seen);
      seen = this.all.length;
      await Promise.allSettled(batch);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** transport.send that never throws: an exception from a transport becomes a "remote" failure. */
export async function safeSend<Body, K extends RequestKind>(
  transport: Transport<Body>,
  to: NodeId,
  request: RequestOf<K, Body>,
): Promise<Result<ReplicaResponse<Body>[K], TransportFailure>> {
  try {
    return await transport.send(to, request);
  } catch (error) {
    return err({ kind: "remote", detail: `transport threw: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, U>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<U>): Promise<U[]> {
  const results = new Array<U>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
