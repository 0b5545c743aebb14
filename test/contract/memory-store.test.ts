// The BlobStore contract (blob-store-contract.ts) run against the in-memory store that core's tests use
// (test/core/support/memory-store.ts): a test double that breaks the contract would let core tests pass on
// behaviour no real store has. It holds no bytes and has no process to crash: a crash keeps everything.
import { blobStoreContract, checksumOf } from "./blob-store-contract.ts";
import { type MemBody, MemoryStore } from "../core/support/memory-store.ts";

blobStoreContract<MemBody>({
  name: "in-memory store of core's tests (test/core/support/memory-store.ts)",
  crashesMidWrite: false,
  losesBytes: false,
  async open() {
    const store = new MemoryStore();
    return {
      store,
      bodyOf: (bytes) => ({ size: bytes.length, checksum: checksumOf(bytes) }),
      readBack: async (body) => ({ size: body.size }),
      async crashAndRestart() {},
      async close() {},
    };
  },
});
