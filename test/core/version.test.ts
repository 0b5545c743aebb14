import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../core/ports.ts";
import { HybridLogicalClock, formatStamp, parseStamp } from "../../core/version.ts";

const RUNS = { numRuns: 300 };

function scriptedClock(readings: number[]): Clock {
  let i = 0;
  return { nowMs: () => readings[Math.min(i++, readings.length - 1)]!, sleep: async () => {} };
}

describe("hybrid logical clock", () => {
  it("stamps from one clock strictly increase even when the wall clock goes backwards", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 44 }), { minLength: 2, maxLength: 200 }), (readings) => {
        const hlc = new HybridLogicalClock(scriptedClock(readings), "router-1");
        let last = "";
        for (let i = 0; i < readings.length; i++) {
          const stamp = hlc.mint();
          expect(stamp > last).toBe(true);
          last = stamp;
        }
      }),
      RUNS,
    );
  });

  it("a stamp minted after observing another sorts after it, whatever the skew", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 44 }), fc.integer({ min: 0, max: 2 ** 44 }), (wallA, wallB) => {
        const a = new HybridLogicalClock(scriptedClock([wallA]), "a");
        const b = new HybridLogicalClock(scriptedClock([wallB]), "b");
        const seen = a.mint();
        b.observe(seen);
        expect(b.mint() > seen).toBe(true);
      }),
      RUNS,
    );
  });

  it("string order of stamps is the order of (physical, logical, writer)", () => {
    const part = fc.record({ physicalMs: fc.integer({ min: 0, max: 2 ** 47 }), logical: fc.integer({ min: 0, max: 0xffffff }), writer: fc.constantFrom("a", "b", "node-1", "router-2") });
    fc.assert(
      fc.property(part, part, (x, y) => {
        const sx = formatStamp(x);
        const sy = formatStamp(y);
        const cmp = x.physicalMs - y.physicalMs || x.logical - y.logical || (x.writer < y.writer ? -1 : x.writer > y.writer ? 1 : 0);
        expect(Math.sign(sx < sy ? -1 : sx > sy ? 1 : 0)).toBe(Math.sign(cmp));
        expect(parseStamp(sx)).toEqual(x);
      }),
      RUNS,
    );
  });
});
