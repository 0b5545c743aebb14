// The BlobStore contract (blob-store-contract.ts) run against the simulated disk (support/sim-disk-harness.ts).
import { blobStoreContract } from "./blob-store-contract.ts";
import { simDiskFactory } from "./support/sim-disk-harness.ts";

blobStoreContract(simDiskFactory);
