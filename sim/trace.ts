// The trace of one run: one line per notable event (message, disk fault, client operation, fault), each
// prefixed by the virtual time. Guarantees: the trace hash is xxhash64 over every line in order (via
// core/hash.ts), so two runs with the same seed print the same hash and any divergence changes it; the last
// `tailMax` lines are kept for the verdict of a failing seed; all lines are kept only when asked (--trace).
// Assumes: callers format lines deterministically (no object identity, no real time).

import { checksumHex, createXxhash64, type StreamingHash64 } from "../core/hash.ts";

export class Trace {
  private readonly hash: StreamingHash64 = createXxhash64();
  private readonly tail: string[] = [];
  private tailStart = 0;
  readonly lines: string[] | undefined;
  lineCount = 0;

  constructor(
    private readonly now: () => number,
    keepAll: boolean,
    private readonly tailMax = 200,
  ) {
    this.lines = keepAll ? [] : undefined;
  }

  add(text: string): void {
    const line = `${this.now().toFixed(3)} ${text}`;
    this.hash.update(line);
    this.hash.update("\n");
    this.lineCount += 1;
    this.lines?.push(line);
    if (this.tail.length < this.tailMax) this.tail.push(line);
    else {
      this.tail[this.tailStart] = line;
      this.tailStart = (this.tailStart + 1) % this.tailMax;
    }
  }

  tailLines(): string[] {
    return [...this.tail.slice(this.tailStart), ...this.tail.slice(0, this.tailStart)];
  }

  digest(): string {
    return checksumHex(this.hash.digest());
  }
}
