// Fan one body stream out to several replicas without holding it in memory.
// Guarantees: every live branch sees the same bytes in order; the source is read only as fast as the
// slowest live branch drains (backpressure), so bytes in flight are bounded by the branches' buffers
// (highWaterMark each); a branch that fails or is destroyed is dropped and the others go on; when the
// source fails, every branch fails with the same error. Branches attach in the tick the tee is made or
// the next one: flow starts on the following turn of the event loop, never before.
import { PassThrough, type Readable } from "node:stream";

export const TEE_BRANCH_HIGH_WATER_BYTES = 1024 * 1024;

export class StreamTee {
  private readonly branches = new Set<PassThrough>();
  private started = false;
  private waitingForDrain = 0;

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
      const error = this.source.errored ?? new Error("StreamTee: the body was closed before it was read");
      for (const branch of [...this.branches]) branch.destroy(error);
      return;
    }
    this.source.on("data", (chunk: Buffer) => this.write(chunk));
    this.source.once("end", () => {
      for (const branch of this.branches) branch.end();
    });
    this.source.once("error", (error) => {
      for (const branch of [...this.branches]) branch.destroy(error);
    });
    this.source.resume();
  }

  private write(chunk: Buffer): void {
    let blocked = 0;
    for (const branch of this.branches) {
      if (!branch.write(chunk)) {
        blocked += 1;
        branch.once("drain", () => this.onDrain());
      }
    }
    if (blocked > 0) {
      this.waitingForDrain = blocked;
      this.source.pause();
    }
  }

  private onDrain(): void {
    this.waitingForDrain -= 1;
    if (this.waitingForDrain <= 0) {
      this.waitingForDrain = 0;
      this.source.resume();
    }
  }

  private drop(branch: PassThrough): void {
    if (!this.branches.delete(branch)) return;
    // A dropped branch that was holding the source back must not hold it forever.
    if (this.waitingForDrain > 0 && branch.writableNeedDrain) this.onDrain();
    if (this.started && this.branches.size === 0 && !this.source.readableEnded) this.source.destroy(new Error("StreamTee: every replica went away"));
  }
}
