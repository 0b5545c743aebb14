// The file-system store as a store under the BlobStore contract (blob-store-contract.ts), in a temp folder. A
// crash is a new process's view of the folder: a second FsBlobStore opens it (running start-up recovery,
// runtime/node/startup.ts) while the first is never closed, so nothing of a clean shutdown helps it.
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { PartitionId } from "../../../core/ids.ts";
import { FsBlobStore } from "../../../runtime/node/fs-blob-store.ts";
import { collect, recordingLog, streamOf } from "../../runtime/support/storage.ts";
import type { StoreFactory } from "../blob-store-contract.ts";

const BLOCK_BYTES = 4096;

export async function openFs(dataDir: string, log = recordingLog(), recordLostPartitions?: (partitions: readonly PartitionId[]) => void): Promise<FsBlobStore> {
  return FsBlobStore.open({ dataDir, log, blockBytes: BLOCK_BYTES, ...(recordLostPartitions ? { recordLostPartitions } : {}) });
}

export const fsStoreFactory: StoreFactory<Readable> = {
  name: "file-system store (runtime/node/fs-blob-store.ts)",
  crashesMidWrite: false,
  losesBytes: true,
  async open() {
    const dataDir = await mkdtemp(join(tmpdir(), "ringstore-contract-"));
    let store = await openFs(dataDir);
    /** Stores of crashed processes: never closed before the next one opens the folder. */
    const crashed: FsBlobStore[] = [];
    const restart = async (): Promise<void> => {
      crashed.push(store);
      store = await openFs(dataDir);
    };
    return {
      get store() {
        return store;
      },
      bodyOf: (bytes) => streamOf(Buffer.from(bytes), 7),
      async readBack(body) {
        const bytes = await collect(body);
        return { size: bytes.length, bytes };
      },
      crashAndRestart: restart,
      async loseBytesAndRestart(version) {
        const path = store.blobFilePath(version.bucket, version.key, version.stamp);
        crashed.push(store);
        await unlink(path);
        const lost: PartitionId[] = [];
        store = await openFs(dataDir, recordingLog(), (partitions) => lost.push(...partitions));
        return lost;
      },
      async close() {
        for (const s of [...crashed, store]) await s.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};
