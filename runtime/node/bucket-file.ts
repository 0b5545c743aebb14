// A storage node's copy of the bucket table on disk (core/bucket-table.ts): one JSON file in its data folder,
// replaced atomically (temp file, fsync, rename, fsync of the folder) on every change, so a node restarted, or
// every node restarted at once, still knows every bucket it had heard of.
// Guarantees: a change is durable when persist returns; a file that does not decode stops the node's start
// with the cause (an operator must look: silently starting empty would forget deletes).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BucketTable } from "../../core/bucket-table.ts";
import { writeFileAtomic } from "../cluster-files.ts";
import { decodeBucketEntries } from "../transport/wire.ts";

export const BUCKET_FILE = "buckets.json";

export function loadBucketTable(dataDir: string): BucketTable {
  const path = join(dataDir, BUCKET_FILE);
  if (!existsSync(path)) return new BucketTable();
  const entries = decodeBucketEntries(JSON.parse(readFileSync(path, "utf8")));
  if (entries === null) throw new Error(`${path}: not a bucket table; move it away to start with none (the node then learns the table from its peers)`);
  return new BucketTable(entries);
}

export function persistBucketTable(dataDir: string, table: BucketTable): void {
  writeFileAtomic(join(dataDir, BUCKET_FILE), `${JSON.stringify(table.entries())}\n`);
}
