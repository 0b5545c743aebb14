// The oracle excuses a stale read only when injected faults destroyed every copy of the write it missed.
import { describe, expect, it } from "vitest";
import type { ObjectVersion, VersionStamp } from "../../core/object-version.ts";
import { clientBody } from "../../sim/body.ts";
import { Oracle } from "../../sim/oracle.ts";

const stamp = (n: number) => `${n.toString(16).padStart(12, "0")}000000.r1` as VersionStamp;

function scene() {
  let now = 0;
  const oracle = new Oracle(() => now);
  const old = clientBody("k", 1, 10);
  const fresh = clientBody("k", 2, 10);
  oracle.writeEnded(oracle.writeStarted("k", "put", old), { ok: true, stamp: stamp(1) });
  oracle.writeEnded(oracle.writeStarted("k", "put", fresh), { ok: true, stamp: stamp(2) });
  now = 10;
  const readOld = () => {
    const version = { bucket: "b", key: "k", stamp: stamp(1), size: 10, checksum: old.contentHash } as ObjectVersion;
    oracle.readEnded(oracle.readStarted("k"), { ok: true, found: true, version, body: old });
  };
  return { oracle, readOld };
}

describe("oracle: writes destroyed by faults", () => {
  it("a read older than an acknowledged write is a violation while a copy of that write survives anywhere", () => {
    const { oracle, readOld } = scene();
    oracle.copiesDestroyed(() => [stamp(1), stamp(2)], () => false);
    readOld();
    expect(oracle.counts.writesDestroyedByFaults).toBe(0);
    expect(oracle.violations.map((v) => v.what)).toEqual([expect.stringContaining("stale read")]);
  });

  it("is excused, and counted, once no copy of it (or anything newer) is left on any disk", () => {
    const { oracle, readOld } = scene();
    oracle.copiesDestroyed(() => [stamp(1)], () => false);
    readOld();
    expect(oracle.counts.writesDestroyedByFaults).toBe(1);
    expect(oracle.violations).toEqual([]);
    oracle.checkNothingLost(() => []);
    expect(oracle.violations).toEqual([]);
  });

  it("is not excused when the logic itself dropped a copy of it before the disks went", () => {
    const { oracle, readOld } = scene();
    oracle.copiesDestroyed(() => [stamp(1)], (_key, s) => s === stamp(2));
    readOld();
    expect(oracle.counts.writesDestroyedByFaults).toBe(0);
    expect(oracle.violations.map((v) => v.what)).toEqual([expect.stringContaining("stale read")]);
  });
});
