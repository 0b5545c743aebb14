// The clock and settings of a real process's heartbeats and failure detector (core/heartbeats.ts): the
// detector reads the AwakeClock, so that this process's own stalls do not count as its peers' silence; the
// pause between rounds is a real sleep.
// Settings: a heartbeat a second to every node, a node counted down after 4 s of silence. The simulator keeps
// its own faster timing; real clusters trade a few seconds of detection for an idle cluster that costs
// almost nothing (heartbeats are signed HTTP requests).
import type { FailureDetectorSettings } from "../core/failure-detector.ts";
import type { Clock } from "../core/ports.ts";
import { AwakeClock } from "./awake-clock.ts";
import { integerFromEnv } from "./cli-options.ts";

export const runtimeFailureDetectorSettings: FailureDetectorSettings = Object.freeze({
  heartbeatIntervalMs: integerFromEnv("RINGSTORE_HEARTBEAT_INTERVAL_MS", 10, 60_000, 1000),
  downAfterMs: integerFromEnv("RINGSTORE_DOWN_AFTER_MS", 100, 600_000, 4000),
});

/** The heartbeat driver's clock: awake time for the detector, real sleeps between rounds. */
export function livenessClock(): Clock & { stop(): void } {
  const awake = new AwakeClock();
  return {
    nowMs: () => awake.now(),
    sleep: (ms) =>
      new Promise((done) => {
        setTimeout(done, ms).unref(); // heartbeats alone do not keep a stopping process alive
      }),
    stop: () => awake.stop(),
  };
}
