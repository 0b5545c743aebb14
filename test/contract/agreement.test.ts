// The simulated disk and the file-system store side by side: the same random sequence of operations, applied to
// both, leaves the same partition listing, bucket listing, heads and partition digest on each. The contract
// (blob-store-contract.ts) holds each store to a model; this holds them to each other, as the simulator's
// promise needs: what the simulated disk answers is what a real node's store answers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Readable } from "node:stream";
import { partitionDigest } from "../../core/storage-node.ts";
import type { SimBody } from "../../sim/body.ts";
import { ModelStore, type StoreHarness, applyOp, isolated, listAll, listBucketAll, opArb, opKeys } from "./blob-store-contract.ts";
import { fsStoreFactory } from "./support/fs-store-harness.ts";
import { simDiskFactory } from "./support/sim-disk-harness.ts";
import { freshStamp } from "./support/versions.ts";

async function viewOf<Body>(h: StoreHarness<Body>, partition: Parameters<typeof partitionDigest>[1], bucket: string, pageSize: number) {
  const heads = [];
  for (const key of opKeys) heads.push(await h.store.headCommitted(bucket, key));
  return {
    partition: await listAll(h.store, partition, pageSize),
    bucket: await listBucketAll(h.store, bucket, "", pageSize),
    heads,
    digest: await partitionDigest(h.store, partition, pageSize),
  };
}

describe("the simulated disk and the file-system store agree", () => {
  it("after the same random operations, both list, head and digest alike (crashes included)", async () => {
    const sim: StoreHarness<SimBody> = await simDiskFactory.open();
    const fs: StoreHarness<Readable> = await fsStoreFactory.open();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 4 }), fc.nat({ max: 25 }), async (ops, pageSize, crashAt) => {
          const { partition, bucket } = isolated();
          const stamps = Array.from({ length: 6 }, () => freshStamp());
          const simModel = new ModelStore();
          const fsModel = new ModelStore();
          for (const [i, op] of ops.entries()) {
            if (i === crashAt) {
              await sim.crashAndRestart();
              await fs.crashAndRestart();
            }
            await applyOp(sim, simModel, partition, bucket, stamps, op);
            await applyOp(fs, fsModel, partition, bucket, stamps, op);
          }
          const simView = await viewOf(sim, partition, bucket, pageSize);
          const fsView = await viewOf(fs, partition, bucket, pageSize);
          expect(fsView).toEqual(simView);
        }),
        { numRuns: 40 },
      );
    } finally {
      await sim.close();
      await fs.close();
    }
  });
});
