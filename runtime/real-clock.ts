// The runtime's Clock port: wall-clock milliseconds and real sleeps.
import type { Clock } from "../core/ports.ts";

export const realClock: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
};
