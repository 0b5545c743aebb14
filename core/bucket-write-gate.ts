// The storage node's half of DeleteBucket's safety: which commits a node lets through, and when it may say it
// has taken a change of the bucket table.
// Guarantees:
//   - A commit of a version of bucket b passes only while this node's table lets b take writes (core/bucket-
//     table.ts takesWrites), checked when the commit starts.
//   - `settled(b)` resolves only once every commit of b that passed the check has finished (durable or failed).
//     A node answers a table change that stops writes to b only after it, so when DeleteBucket holds that answer,
//     every commit of b this node will ever acknowledge is already in its index, where the listing finds it.
// Assumes: the host calls `admit` before committing and `done` exactly once after, and asks `settled` after
// merging the change that stopped writes (a commit admitted later would have seen the change).

import { assert } from "./assert.ts";
import { type BucketTable, SYSTEM_BUCKET, takesWrites } from "./bucket-table.ts";

export class BucketWriteGate {
  private readonly open = new Map<string, { count: number; waiters: (() => void)[] }>();

  constructor(private readonly table: BucketTable) {}

  /** True if a commit to `bucket` may go ahead; the caller then owes one `done(bucket)`. */
  admit(bucket: string): boolean {
    if (bucket !== SYSTEM_BUCKET && !takesWrites(this.table.get(bucket))) return false;
    const entry = this.open.get(bucket) ?? { count: 0, waiters: [] };
    entry.count += 1;
    this.open.set(bucket, entry);
    return true;
  }

  done(bucket: string): void {
    const entry = this.open.get(bucket);
    assert(entry !== undefined && entry.count > 0, () => `done(${bucket}) without a matching admit`);
    entry.count -= 1;
    if (entry.count > 0) return;
    this.open.delete(bucket);
    for (const wake of entry.waiters) wake();
  }

  /** Resolves once no admitted commit of `bucket` is still running. */
  settled(bucket: string): Promise<void> {
    const entry = this.open.get(bucket);
    if (entry === undefined) return Promise.resolve();
    return new Promise((resolve) => entry.waiters.push(resolve));
  }
}
