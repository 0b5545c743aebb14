// Seeded randomness for the simulated world: the seed is its only source of randomness.
// Guarantees: the same (seed, stream name) gives the same sequence in every run and on every machine; streams
// are independent, so adding draws to one (say, the workload) does not shift another (say, the network).
// Assumes: seedrandom's alea generator (fast, 32-bit state, portable).

import seedrandom from "seedrandom";
import { assert } from "../core/assert.ts";
import type { Rng } from "../core/ports.ts";

export class SimRng implements Rng {
  private readonly next: () => number;

  constructor(readonly seed: string) {
    this.next = seedrandom.alea(seed);
  }

  /** An independent stream derived from this one's seed and a name. */
  fork(name: string): SimRng {
    return new SimRng(`${this.seed}/${name}`);
  }

  nextFloat(): number {
    return this.next();
  }

  nextInt(maxExclusive: number): number {
    assert(Number.isInteger(maxExclusive) && maxExclusive > 0, () => `nextInt bound ${maxExclusive} must be a positive integer`);
    return Math.floor(this.next() * maxExclusive);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** The items in a random order (one draw per item, in the given order). */
  shuffled<T>(items: readonly T[]): T[] {
    return items.map((item) => ({ item, k: this.nextFloat() })).sort((a, b) => a.k - b.k).map((x) => x.item);
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, "pick from an empty list");
    return items[this.nextInt(items.length)]!;
  }
}
