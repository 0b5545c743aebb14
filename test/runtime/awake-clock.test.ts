import { describe, expect, it } from "vitest";
import { AwakeClock } from "../../runtime/awake-clock.ts";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: this process is stalled, as under a long GC or a starved CPU
  }
}

describe("AwakeClock", () => {
  it("keeps pace with wall time while the process runs", async () => {
    const clock = new AwakeClock(500, 50);
    const wallStart = performance.now();
    const start = clock.now();
    await sleep(600);
    const advanced = clock.now() - start;
    const wall = performance.now() - wallStart;
    clock.stop();
    // Equal to wall time unless this test process itself stalled; every step counts for up to 500 ms.
    expect(advanced).toBeLessThanOrEqual(wall + 1);
    expect(advanced).toBeGreaterThanOrEqual(Math.min(wall, 500));
  });

  it("counts a stall of its own process as at most one step, so peers' silence is not overstated", async () => {
    const clock = new AwakeClock(500, 50);
    const start = clock.now();
    blockFor(2_000);
    const during = clock.now() - start;
    await sleep(120); // the tick after the stall
    const after = clock.now() - start;
    clock.stop();
    expect(during).toBeLessThanOrEqual(500);
    expect(after).toBeLessThanOrEqual(500 + 200);
    expect(after).toBeGreaterThanOrEqual(during);
  });
});
