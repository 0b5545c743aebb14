// Ring micro-benchmark: placement look-ups per second (key → primaries) and ring construction time.
// Targets (issue 2): >= 1,000,000 look-ups/s on one core; a 512-node ring built in under 1 s.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { nodeId, zoneId } from "../core/ids.ts";
import { createClusterMap, joinNode } from "../core/cluster-map.ts";
import { partitionOf, primariesOf } from "../core/placement.ts";
import { buildRing } from "../core/ring.ts";

const PARTITION_BITS = 12;
const NODE_COUNTS = [8, 64, 512];
const LOOKUPS = 2_000_000;

function mapWith(count: number) {
  return createClusterMap({
    partitionBits: PARTITION_BITS,
    replicas: 3,
    nodes: Array.from({ length: count }, (_, i) => ({ id: nodeId(`node-${i}`), address: `10.0.${i >> 8}.${i & 255}:7000`, zone: zoneId(`zone-${i % 3}`) })),
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function main(): Promise<void> {
  const keys = Array.from({ length: 10_000 }, (_, i) => `videos/2026/11/${i.toString(36)}/master-${i}.mp4`);
  const rows: string[] = [];
  for (const count of NODE_COUNTS) {
    const map = mapWith(count);
    const buildMs: number[] = [];
    let ring = buildRing(map);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      ring = buildRing(map);
      buildMs.push(performance.now() - t0);
    }
    // A ring that has seen a join replays one more step: measure it too.
    const joined = joinNode(map, { id: nodeId("joiner"), address: "x:1", zone: zoneId("zone-0") });
    if (!joined.ok) throw new Error(joined.error);
    const t1 = performance.now();
    buildRing(joined.value);
    const joinBuildMs = performance.now() - t1;

    let sink = 0;
    const t2 = performance.now();
    for (let i = 0; i < LOOKUPS; i++) {
      const primaries = primariesOf(ring, partitionOf(ring, "media", keys[i % keys.length]!));
      sink += primaries.length;
    }
    const seconds = (performance.now() - t2) / 1000;
    if (sink !== LOOKUPS * 3) throw new Error("look-ups returned the wrong number of primaries");
    const perSecond = LOOKUPS / seconds;
    rows.push(`| ${count} | ${2 ** PARTITION_BITS} | ${median(buildMs).toFixed(1)} | ${joinBuildMs.toFixed(1)} | ${Math.round(perSecond).toLocaleString("en-US")} |`);
    console.log(`ring bench: ${count} nodes: build ${median(buildMs).toFixed(1)} ms (median of 5), build after a join ${joinBuildMs.toFixed(1)} ms, ${Math.round(perSecond).toLocaleString("en-US")} look-ups/s`);
  }
  const report = [
    "# Ring benchmark",
    "",
    `Produced by \`npm run bench -- ring\` on ${new Date().toISOString()} (Node ${process.version}, ${cpus()[0]?.model ?? "unknown cpu"}, one core).`,
    "",
    "Look-ups: key → partition (xxhash64 of bucket/key) → primaries, over 10,000 distinct keys, " + LOOKUPS.toLocaleString("en-US") + " look-ups.",
    "Targets: ≥ 1,000,000 look-ups/s; 512-node ring built in < 1 s.",
    "",
    "| nodes | partitions | build ms (median of 5) | build ms after one join | look-ups/s |",
    "|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n");
  const dir = join(import.meta.dirname, "..", "reports", "bench");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ring.md"), report);
  console.log(`wrote ${join("reports", "bench", "ring.md")}`);
}
