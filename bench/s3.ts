// S3 benchmark against a real local cluster: large-object PUT/GET throughput (streamed, aws-chunked as
// the SDK sends it) and small-object latency. Writes reports/bench/s3.md.
//   npm run bench -- s3            (5 nodes, 1 router, no HAProxy, data in a temp folder)
import { mkdirSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startCluster } from "../runtime/launcher/up.ts";
import { digestOf, generatedBodyWithDigest } from "../test/integration/support/data.ts";

const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 256) * 1024 * 1024;
const LARGE_ROUNDS = 3;
const SMALL_COUNT = 300;
const SMALL_BYTES = 16 * 1024;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "ringstore-bench-"));
  const cluster = await startCluster({ dataDir, port: 24000, nodes: 5, routers: 1, internalBasePort: 24001, partitionBits: 10, replicas: 3, host: "127.0.0.1", haproxy: false });
  const s3 = new S3Client({ endpoint: cluster.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey } });
  const lines: string[] = [];
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    const putRates: number[] = [];
    const getRates: number[] = [];
    for (let round = 0; round < LARGE_ROUNDS; round++) {
      const { body, md5 } = generatedBodyWithDigest(LARGE_BYTES);
      await md5;
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: "bench", Key: `large-${round}`, Body: body(), ContentLength: LARGE_BYTES }));
      putRates.push(LARGE_BYTES / 2 ** 20 / ((performance.now() - t0) / 1000));
      const t1 = performance.now();
      const got = await s3.send(new GetObjectCommand({ Bucket: "bench", Key: `large-${round}` }));
      const digest = await digestOf(got.Body as AsyncIterable<Uint8Array>);
      getRates.push(LARGE_BYTES / 2 ** 20 / ((performance.now() - t1) / 1000));
      if (digest !== (await md5)) throw new Error("GET returned different bytes");
      console.log(`round ${round + 1}: PUT ${putRates.at(-1)!.toFixed(1)} MiB/s, GET ${getRates.at(-1)!.toFixed(1)} MiB/s`);
    }
    const small = Buffer.alloc(SMALL_BYTES, 7);
    const putMs: number[] = [];
    const getMs: number[] = [];
    for (let i = 0; i < SMALL_COUNT; i++) {
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: "bench", Key: `small/${i}`, Body: small }));
      putMs.push(performance.now() - t0);
      const t1 = performance.now();
      const got = await s3.send(new GetObjectCommand({ Bucket: "bench", Key: `small/${i}` }));
      await got.Body!.transformToByteArray();
      getMs.push(performance.now() - t1);
    }
    putMs.sort((a, b) => a - b);
    getMs.sort((a, b) => a - b);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    lines.push(
      "# S3 benchmark",
      "",
      `Produced by \`npm run bench -- s3\` on ${new Date().toISOString()}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average before the run ${loadavg()[0]!.toFixed(2)}.`,
      "Cluster: 5 storage nodes, 1 router, N=3 W=2 R=2, all on 127.0.0.1, data on the local disk (fsync on every write). Client: AWS SDK v3, default settings (streamed PUTs go aws-chunked with a CRC32 trailer), in the same process as the launcher.",
      "",
      `## Large objects (${LARGE_BYTES / 2 ** 20} MiB, ${LARGE_ROUNDS} rounds)`,
      "",
      "| | median MiB/s | all rounds |",
      "|---|---:|---|",
      `| PUT (3 replicas written and fsynced) | ${median(putRates).toFixed(1)} | ${putRates.map((r) => r.toFixed(1)).join(", ")} |`,
      `| GET (one replica, checksums verified) | ${median(getRates).toFixed(1)} | ${getRates.map((r) => r.toFixed(1)).join(", ")} |`,
      "",
      `## Small objects (${SMALL_BYTES / 1024} KiB, ${SMALL_COUNT} sequential requests each)`,
      "",
      "| | p50 ms | p90 ms | p99 ms |",
      "|---|---:|---:|---:|",
      `| PUT | ${percentile(putMs, 0.5).toFixed(1)} | ${percentile(putMs, 0.9).toFixed(1)} | ${percentile(putMs, 0.99).toFixed(1)} |`,
      `| GET | ${percentile(getMs, 0.5).toFixed(1)} | ${percentile(getMs, 0.9).toFixed(1)} | ${percentile(getMs, 0.99).toFixed(1)} |`,
      "",
    );
  } finally {
    s3.destroy();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const dir = join(import.meta.dirname, "..", "reports", "bench");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "s3.md"), lines.join("\n"));
  console.log(lines.join("\n"));
}
