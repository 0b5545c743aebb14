// Stored blob files of a test cluster's nodes, for tests that damage one on purpose.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Files of exactly `size` bytes under a node's blob folder (<dataDir>/<node>/blobs). */
export function blobsOfSize(dataDir: string, node: string, size: number): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (statSync(path).size === size) found.push(path);
    }
  };
  walk(join(dataDir, node, "blobs"));
  return found;
}
