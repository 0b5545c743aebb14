import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ForeignHoldings, type ForeignReport, isNewerForeignReport, mayHoldForeign } from "../../core/foreign-holdings.ts";
import { partitionId, type PartitionId } from "../../core/ids.ts";

const RUNS = 2000;
const P = 4;

type Op =
  | { readonly kind: "write"; readonly p: number } // a hinted put lands (noted first, as core/storage-node.ts does)
  | { readonly kind: "drain"; readonly p: number } // repair pushed and dropped the partition's foreign copies
  | { readonly kind: "ring-change"; readonly ps: number[] } // data became out of place
  | { readonly kind: "census-begin" }
  | { readonly kind: "census-list" } // the store lists what it holds
  | { readonly kind: "census-end" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), p: fc.nat(P - 1) }),
  fc.record({ kind: fc.constant("drain" as const), p: fc.nat(P - 1) }),
  fc.record({ kind: fc.constant("ring-change" as const), ps: fc.array(fc.nat(P - 1), { minLength: 1, maxLength: 2 }) }),
  fc.constant({ kind: "census-begin" as const }),
  fc.constant({ kind: "census-list" as const }),
  fc.constant({ kind: "census-end" as const }),
);

/** Does the report cover every partition that truly holds foreign data? */
function covers(report: ForeignReport, truth: ReadonlySet<number>): boolean {
  return [...truth].every((p) => mayHoldForeign(report, partitionId(p, P)));
}

describe("foreign holdings", () => {
  it("never reports a partition clean while the node holds foreign data of it, whatever races a census", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const holdings = new ForeignHoldings(1);
        const truth = new Set<number>();
        let token: number | undefined;
        let listed: PartitionId[] | undefined;
        let last: ForeignReport | undefined;
        for (const o of ops) {
          switch (o.kind) {
            case "write":
              holdings.noteForeignWrite(partitionId(o.p, P));
              truth.add(o.p);
              break;
            case "drain":
              truth.delete(o.p);
              break;
            case "ring-change":
              holdings.forget();
              for (const p of o.ps) truth.add(p);
              break;
            case "census-begin":
              token = holdings.beginCensus();
              listed = undefined;
              break;
            case "census-list":
              if (token !== undefined) listed = [...truth].map((p) => partitionId(p, P));
              break;
            case "census-end":
              if (token !== undefined && listed !== undefined) holdings.endCensus(token, listed);
              token = undefined;
              break;
          }
          const report = holdings.report();
          expect(covers(report, truth)).toBe(true);
          expect(isNewerForeignReport(report, last)).toBe(true);
          last = report;
        }
      }),
      {
        numRuns: RUNS,
        // The races that matter, always tried: a ring change and a write landing between a census's listing and its end.
        examples: [
          [[{ kind: "census-begin" }, { kind: "census-list" }, { kind: "ring-change", ps: [0] }, { kind: "census-end" }]],
          [[{ kind: "census-begin" }, { kind: "census-list" }, { kind: "write", p: 1 }, { kind: "census-end" }]],
        ],
      },
    );
  });

  it("reports exactly what a quiet census found, and clean once foreign data is drained", () => {
    const holdings = new ForeignHoldings(1);
    expect(holdings.report().partitions).toBe("unknown");
    holdings.noteForeignWrite(partitionId(3, P));
    let token = holdings.beginCensus();
    holdings.endCensus(token, [partitionId(3, P)]);
    expect(holdings.report().partitions).toEqual([3]);
    token = holdings.beginCensus();
    holdings.endCensus(token, []);
    expect(holdings.report().partitions).toEqual([]);
    expect(mayHoldForeign(holdings.report(), partitionId(3, P))).toBe(false);
  });

  it("orders a new incarnation's reports after the old one's, and treats no report as 'may hold'", () => {
    const old = new ForeignHoldings(5);
    const fresh = new ForeignHoldings(6);
    const a = old.report();
    const b = old.report();
    expect(isNewerForeignReport(b, a)).toBe(true);
    expect(isNewerForeignReport(a, b)).toBe(false);
    expect(isNewerForeignReport(fresh.report(), b)).toBe(true);
    expect(mayHoldForeign(undefined, partitionId(0, P))).toBe(true);
  });

  it("reports more partitions than its bound as unknown", () => {
    const holdings = new ForeignHoldings(1, 2);
    const token = holdings.beginCensus();
    holdings.endCensus(token, [0, 1, 2].map((p) => partitionId(p, P)));
    expect(holdings.report().partitions).toBe("unknown");
  });
});
