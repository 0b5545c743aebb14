// Start-up recovery of a storage node's data folder, run before the node serves anything.
// Guarantees: afterwards tmp/ is empty; every row that names a blob file has that file; every blob file is named
// by a row. A committed row whose blob is missing is data loss on this replica: it is logged as an error (one line
// each, with bucket, key and stamp) and removed, so repair sees the copy missing and restores it from a
// replica. Before any such row is removed, `recordLost` is told the partitions they belong to (the node keeps
// them durable: those copies must not vouch for themselves until caught up, core/catch-up.ts), and one line
// counts them per partition. Ends with one log line counting what was removed.
// Assumes: nothing else writes to the folder while this runs (FsBlobStore.open calls it before returning).

import { access, readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { PartitionId } from "../../core/ids.ts";
import type { Log } from "../../core/ports.ts";
import type { IndexedVersion, MetadataIndex } from "./metadata-index.ts";

export interface RecoveryReport {
  readonly tempFilesRemoved: number;
  readonly pendingRowsRemoved: number;
  readonly committedRowsLost: number;
  readonly orphanBlobsRemoved: number;
  /** Partitions with committed rows removed, in ascending order. */
  readonly partitionsLost: readonly PartitionId[];
}

/** Committed rows lost in one partition, and the bytes of their bodies. */
export interface PartitionLoss {
  readonly partition: PartitionId;
  readonly rows: number;
  readonly bytes: number;
}

/** File-existence checks in flight at once while scanning the index. */
const STAT_CONCURRENCY = 32;
const blobNamePattern = /^[0-9a-f]{32}$/;
const shardPattern = /^[0-9a-f]{2}$/;

export async function recoverDataDir(options: { blobsDir: string; tmpDir: string; index: MetadataIndex; log: Log; recordLost?: (partitions: readonly PartitionId[]) => void }): Promise<RecoveryReport> {
  const { blobsDir, tmpDir, index, log } = options;

  // 1. Temp files: writes a crash interrupted. No row names them.
  const temps = await readdir(tmpDir);
  for (const name of temps) await rm(join(tmpDir, name), { recursive: true, force: true });

  // 2. Rows whose blob file is gone.
  const missing: IndexedVersion[] = [];
  let batch: IndexedVersion[] = [];
  const checkBatch = async (): Promise<void> => {
    const present = await Promise.all(batch.map((row) => exists(join(blobsDir, row.blobPath!))));
    batch.forEach((row, i) => {
      if (!present[i]) missing.push(row);
    });
    batch = [];
  };
  // Rows are read in batches; the index is not written until the scan is over.
  for (const row of index.allRows()) {
    if (row.blobPath === null) continue;
    batch.push(row);
    if (batch.length >= STAT_CONCURRENCY) await checkBatch();
  }
  await checkBatch();
  const losses = new Map<PartitionId, { rows: number; bytes: number }>();
  for (const row of missing) {
    if (!row.committed) continue;
    const loss = losses.get(row.partition as PartitionId) ?? { rows: 0, bytes: 0 };
    losses.set(row.partition as PartitionId, { rows: loss.rows + 1, bytes: loss.bytes + row.size });
  }
  const partitionsLost = [...losses.keys()].sort((a, b) => a - b);
  if (partitionsLost.length > 0) {
    // Durable before the rows go: a crash after their removal must not make the next start look intact.
    options.recordLost?.(partitionsLost);
    const byPartition: PartitionLoss[] = partitionsLost.map((partition) => ({ partition, ...losses.get(partition)! }));
    log.error("store.partitions-lost-copies", { partitions: byPartition, rows: missing.filter((r) => r.committed).length, bytes: byPartition.reduce((sum, l) => sum + l.bytes, 0) });
  }
  let committedRowsLost = 0;
  for (const row of missing) {
    if (row.committed) {
      committedRowsLost += 1;
      log.error("store.blob-missing-on-start", { bucket: row.bucket, key: row.key, stamp: row.stamp, partition: row.partition, size: row.size, blobPath: row.blobPath });
    }
    index.remove(row.bucket, row.key, row.stamp);
  }

  // 3. Blob files no row names: a crash between rename and row insert, or between row delete and unlink.
  let orphanBlobsRemoved = 0;
  for (const high of await readdir(blobsDir)) {
    if (!shardPattern.test(high)) {
      log.warn("store.unexpected-entry", { path: join(blobsDir, high) });
      continue;
    }
    for (const low of await readdir(join(blobsDir, high))) {
      if (!shardPattern.test(low)) {
        log.warn("store.unexpected-entry", { path: join(blobsDir, high, low) });
        continue;
      }
      for (const name of await readdir(join(blobsDir, high, low))) {
        const relativePath = `${high}/${low}/${name}`;
        if (!blobNamePattern.test(name)) {
          log.warn("store.unexpected-entry", { path: join(blobsDir, relativePath) });
          continue;
        }
        if (index.hasBlobPath(relativePath)) continue;
        await unlink(join(blobsDir, relativePath));
        orphanBlobsRemoved += 1;
      }
    }
  }

  const report: RecoveryReport = {
    tempFilesRemoved: temps.length,
    pendingRowsRemoved: missing.length - committedRowsLost,
    committedRowsLost,
    orphanBlobsRemoved,
    partitionsLost,
  };
  const fields = { ...report, rowsKept: index.rowCount() };
  if (committedRowsLost > 0) log.error("store.startup-recovery", fields);
  else log.info("store.startup-recovery", fields);
  return report;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return false;
    throw error;
  }
}
