// Reading Prometheus figures from a test cluster's routers and nodes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestCluster } from "./cluster.ts";

/** The sum of the series of one metric whose labels include `labels`, in Prometheus' text format (0 when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** The router's metrics (behind the S3 endpoint, with the token from the data folder). */
export async function scrapeRouter(cluster: TestCluster): Promise<string> {
  const token = readFileSync(join(cluster.dataDir, "metrics-token"), "utf8").trim();
  const answer = await fetch(`${cluster.endpoint}/-/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  if (answer.status !== 200) throw new Error(`router metrics answered ${answer.status}`);
  return answer.text();
}

/** A storage node's metrics, on its internal port. */
export async function scrapeNode(cluster: TestCluster, id: string): Promise<string> {
  const answer = await fetch(`http://127.0.0.1:${cluster.process(id).port}/-/metrics`);
  if (answer.status !== 200) throw new Error(`${id} metrics answered ${answer.status}`);
  return answer.text();
}
