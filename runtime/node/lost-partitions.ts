// The partitions whose copy on this node's disk lost committed versions (start-up recovery dropped rows whose
// blob file was gone), kept in <dataDir>/lost-partitions.json until catch-up completes on each of them.
// Why a file: the rows are gone after the start that found the loss, so a later start (a crash before the
// partition caught up) would otherwise take the copy for intact and let it vouch for data it lacks (finding F5's
// stale read, core/catch-up.ts). Written atomically and fsynced (cluster-files.ts writeFileAtomic).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../../core/assert.ts";
import type { PartitionId } from "../../core/ids.ts";
import { writeFileAtomic } from "../cluster-files.ts";

export class LostPartitionsFile {
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, "lost-partitions.json");
  }

  read(): PartitionId[] {
    if (!existsSync(this.path)) return [];
    const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { partitions?: unknown };
    assert(Array.isArray(parsed.partitions) && parsed.partitions.every((p) => Number.isInteger(p) && (p as number) >= 0), () => `${this.path}: no list of partitions`);
    return parsed.partitions as PartitionId[];
  }

  /** Adds partitions (before their rows are removed). */
  add(partitions: readonly PartitionId[]): void {
    this.write([...new Set([...this.read(), ...partitions])]);
  }

  /** Keeps only `partitions` (those still behind); removes the file when none is left. */
  write(partitions: readonly PartitionId[]): void {
    if (partitions.length === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    writeFileAtomic(this.path, `${JSON.stringify({ partitions: [...partitions].sort((a, b) => a - b) })}\n`);
  }
}
