// Failure detection settings for real processes: a heartbeat a second to every node, a node counted down
// after 4 s of silence. The simulator keeps core's faster defaults; real clusters trade a few seconds of
// detection for an idle cluster that costs almost nothing (heartbeats are signed HTTP requests).
import type { FailureDetectorSettings } from "../core/failure-detector.ts";

export const runtimeFailureDetectorSettings: FailureDetectorSettings = Object.freeze({
  heartbeatIntervalMs: Number(process.env.RINGSTORE_HEARTBEAT_INTERVAL_MS ?? 1000),
  downAfterMs: Number(process.env.RINGSTORE_DOWN_AFTER_MS ?? 4000),
});
