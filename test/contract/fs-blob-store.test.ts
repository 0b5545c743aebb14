// The BlobStore contract (blob-store-contract.ts) run against the file-system store (support/fs-store-harness.ts),
// and a crash inside writes, which only a real process can have: a child process writing is killed with SIGKILL.
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { PartitionId } from "../../core/ids.ts";
import { afterVersion } from "../../core/partition-cursor.ts";
import type { PartitionCursor, StoredVersion } from "../../core/ports.ts";
import type { FsBlobStore } from "../../runtime/node/fs-blob-store.ts";
import { collect, recordingLog, withTempDir } from "../runtime/support/storage.ts";
import { blobStoreContract } from "./blob-store-contract.ts";
import { fsStoreFactory, openFs } from "./support/fs-store-harness.ts";
import { checksumOf, writerVersion } from "./support/versions.ts";

blobStoreContract(fsStoreFactory);

const writerScript = join(dirname(fileURLToPath(import.meta.url)), "support", "fs-writer.ts");

/** Runs the writer process on `dataDir` until it has acknowledged `acksWanted` commits, then kills it with SIGKILL. */
async function killWriterAfter(dataDir: string, acksWanted: number, deadlineMs: number): Promise<Set<number>> {
  const child = spawn(process.execPath, ["--import", "tsx", writerScript, dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const acked = new Set<number>();
  let stderr = "";
  let buffered = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const enough = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer acknowledged ${acked.size} of ${acksWanted} in ${deadlineMs} ms: ${stderr}`)), deadlineMs);
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const match = /^acked (\d+)$/.exec(line);
        if (match) acked.add(Number(match[1]));
      }
      if (acked.size >= acksWanted) {
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited (${code}) before it was killed: ${stderr}`));
    });
  });
  try {
    await enough;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
  return acked;
}

async function listWhole(store: FsBlobStore, partition: PartitionId): Promise<StoredVersion[]> {
  const all: StoredVersion[] = [];
  let cursor: PartitionCursor | undefined;
  for (;;) {
    const page = await store.listPartition(partition, cursor, 50);
    if (!page.ok) throw new Error(page.error.detail);
    all.push(...page.value);
    if (page.value.length < 50) return all;
    cursor = afterVersion(page.value[page.value.length - 1]!);
  }
}

describe("file-system store: a process killed in the middle of writes", () => {
  it("keeps every acknowledged version whole, and each write it was killed in applied whole or not at all", async () => {
    await withTempDir(async (dataDir) => {
      const acked = await killWriterAfter(dataDir, 40, 60_000);
      const log = recordingLog();
      const store = await openFs(dataDir, log);
      try {
        const recovery = log.lines.find((l) => l.event === "store.startup-recovery");
        expect(recovery?.fields.committedRowsLost).toBe(0);
        expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
        const listed = await listWhole(store, 1 as PartitionId);
        const listedIndexes = new Set(listed.map((v) => Number(v.key.slice(1))));
        for (const i of acked) expect(listedIndexes.has(i), `acknowledged k${i} is held`).toBe(true);
        // Every listed version reads back as written: none half-written, whatever the kill interrupted.
        for (const v of listed) {
          const { version, bytes } = writerVersion(Number(v.key.slice(1)));
          expect(v).toEqual({ ...version, partition: 1, committed: true });
          const read = await store.readBody(v.bucket, v.key, v.stamp);
          if (!read.ok) throw new Error(`${v.key}: ${read.error.detail}`);
          expect(checksumOf(await collect(read.value.body)), v.key).toBe(checksumOf(bytes));
        }
        // Versions put but not yet committed when the kill came: a pending row that commits and reads whole, or nothing.
        const highest = Math.max(...acked, ...listedIndexes);
        let pendingKept = 0;
        for (let i = 0; i <= highest + 8; i++) {
          if (listedIndexes.has(i)) continue;
          const { version, bytes } = writerVersion(i);
          const committed = await store.commit(1 as PartitionId, version, undefined);
          if (!committed.ok) {
            expect(committed.error.kind, `k${i}`).toBe("not-found");
            continue;
          }
          pendingKept += 1;
          const read = await store.readBody(version.bucket, version.key, version.stamp);
          if (!read.ok) throw new Error(`k${i}: ${read.error.detail}`);
          expect(checksumOf(await collect(read.value.body))).toBe(checksumOf(bytes));
        }
        console.log(`fs crash: ${acked.size} acknowledged, ${listed.length} committed after restart, ${pendingKept} pending rows committed afterwards, recovery ${JSON.stringify(recovery?.fields)}`);
      } finally {
        await store.close();
      }
    });
  });
});
