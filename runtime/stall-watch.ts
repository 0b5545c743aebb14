// Logs when this process's event loop was blocked long enough for peers to notice: heartbeats go
// unanswered while it is, and a node stalled for downAfterMs is taken for dead by every other process.
// One warn line per stall, with how long it lasted, so "node X was marked down" can be told apart from
// "node X was busy" in the logs.
import type { Log } from "../core/ports.ts";

export function watchForStalls(log: Log, options: { checkEveryMs?: number; reportAboveMs?: number } = {}): () => void {
  const checkEveryMs = options.checkEveryMs ?? 250;
  const reportAboveMs = options.reportAboveMs ?? 1_000;
  let expected = performance.now() + checkEveryMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = now - expected;
    if (lateMs > reportAboveMs) log.warn("process.stalled", { stalledMs: Math.round(lateMs), rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20) });
    expected = now + checkEveryMs;
  }, checkEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
