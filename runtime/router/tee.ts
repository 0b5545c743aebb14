// Fan one body stream out to several replicas without holding it in memory.
// Guarantees: every live branch sees the same bytes in order; the source is read only as fast as the
// slowest live branch drains (backpressure), so bytes in flight are bounded by the branches' buffers (a
// highWaterMark for each side of each); a branch that fails or is destroyed is dropped and the others go
// on at once, even when the dropped branch was the one holding the source back; when the source fails, or
// is destroyed without an error (its reader gave up), every branch fails. Branches attach in the tick the
// tee is made or the next one: flow starts on the following turn of the event loop, never before.
//
// Backpressure is decided from state, not counted: the source is paused while any live branch needs a
// drain, and resumed when none does. A count of pending drains went wrong twice (a destroyed branch never
// emits 'drain', and a second pause overwrote the count), which left PUTs hanging until an idle timeout.
import { PassThrough, type Readable } from "node:stream";
import { assert } from "../../core/assert.ts";

export const TEE_BRANCH_HIGH_WATER_BYTES = 1024 * 1024;

export class StreamTee {
  private readonly branches = new Set<PassThrough>();
  private started = false;
  /** True while this tee holds the source paused for a branch that needs a drain. */
  private heldBack = false;

  constructor(private readonly source: Readable) {
    source.pause();
    setImmediate(() => this.start());
  }

  /** A new reader of the whole body. */
  branch(): Readable {
    if (this.started) throw new Error("StreamTee: a branch was attached after the body started flowing");
    const branch = new PassThrough({ highWaterMark: TEE_BRANCH_HIGH_WATER_BYTES });
    this.branches.add(branch);
    const drop = () => this.drop(branch);
    branch.once("close", drop);
    branch.once("error", drop);
    branch.on("drain", () => this.resumeIfClear());
    return branch;
  }

  get liveBranchCount(): number {
    return this.branches.size;
  }

  private start(): void {
    this.started = true;
    if (this.branches.size === 0) {
      this.source.destroy(new Error("StreamTee: no replica took the body"));
      return;
    }
    // The source may have failed before the tee was made (a tiny body that failed its digest at once).
    if (this.source.destroyed) {
      this.failBranches(this.source.errored ?? new Error("StreamTee: the body was closed before it was read"));
      return;
    }
    this.source.on("data", (chunk: Buffer) => this.write(chunk));
    this.source.once("end", () => {
      for (const branch of this.branches) branch.end();
    });
    this.source.once("error", (error) => this.failBranches(error));
    // Destroyed without an error (the router gave up on the write): the replicas must not wait for the rest
    // of a body that will never come, holding a temp file each.
    this.source.once("close", () => {
      if (!this.source.readableEnded) this.failBranches(this.source.errored ?? new Error("StreamTee: the body was abandoned before its end"));
    });
    this.source.resume();
  }

  private failBranches(error: Error): void {
    for (const branch of [...this.branches]) branch.destroy(error);
  }

  private write(chunk: Buffer): void {
    for (const branch of this.branches) {
      if (!branch.destroyed) branch.write(chunk);
    }
    if (this.anyNeedsDrain()) {
      this.heldBack = true;
      this.source.pause();
    }
  }

  private anyNeedsDrain(): boolean {
    // writableNeedDrain is false for a destroyed or ended branch: those never hold the source back.
    for (const branch of this.branches) if (branch.writableNeedDrain) return true;
    return false;
  }

  private resumeIfClear(): void {
    if (!this.heldBack || this.anyNeedsDrain()) return;
    this.heldBack = false;
    if (!this.source.destroyed) this.source.resume();
  }

  private drop(branch: PassThrough): void {
    if (!this.branches.delete(branch)) return;
    assert(branch.destroyed || branch.writableFinished || branch.errored !== null || branch.closed, "a branch is dropped only once it is done");
    // A dropped branch that was holding the source back must not hold it any longer.
    this.resumeIfClear();
    if (this.started && this.branches.size === 0 && !this.source.readableEnded) this.source.destroy(new Error("StreamTee: every replica went away"));
  }
}
