// `cluster join | decommission --wait`: a progress bar (cli-progress) until the cluster has settled, or JSON
// lines with the same figures for scripts. Progress counts what is still pending on the nodes (partitions
// behind, open ring transitions, nodes not yet on the new epoch or not answering) against the most seen, and
// the copies repair moved since the wait began, with their rate.
import cliProgress from "cli-progress";
import { type ClusterPending, waitUntilSettled } from "./cluster-admin.ts";

const outstandingOf = (p: ClusterPending): number => p.partitionsBehind + p.nodesInTransition + p.nodesBehindEpoch + p.nodesNotAnswering;

export async function waitWithProgress(mapFile: string, options: { timeoutMs: number; json: boolean }): Promise<boolean> {
  const startedMs = Date.now();
  let copiedAtStart: number | undefined;
  let outstandingMax = 0;
  let barStarted = false;
  const bar = options.json
    ? undefined
    : new cliProgress.SingleBar(
        {
          format: "settling {bar} {value}/{total} done | {outstanding} pending ({behind} partitions behind) | {copied} copies, {rate}/s | ETA {eta_formatted}",
          noTTYOutput: true,
          notTTYSchedule: 5000,
          etaBuffer: 30,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
  const settled = await waitUntilSettled(mapFile, {
    timeoutMs: options.timeoutMs,
    onStatus: (status, pending) => {
      const outstanding = outstandingOf(pending);
      outstandingMax = Math.max(outstandingMax, outstanding, 1);
      copiedAtStart ??= pending.objectsCopied;
      const copied = Math.max(0, pending.objectsCopied - copiedAtStart);
      const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000);
      const figures = { outstanding, behind: pending.partitionsBehind, copied, rate: (copied / seconds).toFixed(1) };
      if (bar === undefined) {
        console.log(JSON.stringify({ elapsedMs: Date.now() - startedMs, epoch: status.map.epoch, settled: status.settled, ...pending, copiedSinceWait: copied }));
        return;
      }
      if (!barStarted) {
        bar.start(outstandingMax, outstandingMax - outstanding, figures);
        barStarted = true;
      } else {
        bar.setTotal(outstandingMax);
        bar.update(outstandingMax - outstanding, figures);
      }
    },
  });
  bar?.stop();
  return settled;
}
