// Metadata scale (issue 11, item 4): fill a bucket to N objects, then measure PUT, HEAD and GET latency and
// listing speed at each N. Not yet written: a run with --preload says so instead of measuring.
import type { BenchTarget } from "./peers.ts";

export interface PreloadFigures {
  readonly markdown: readonly string[];
  readonly json: unknown;
}

export async function runPreload(_target: BenchTarget, counts: readonly number[], _runId: string, _progress: (text: string) => void, done: (text: string) => void): Promise<PreloadFigures> {
  done(`--preload ${counts.join(",")}: not implemented yet`);
  return { markdown: ["## Metadata scale", "", "Not measured: --preload is not implemented yet."], json: { counts, measured: false } };
}
