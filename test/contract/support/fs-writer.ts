// A process that writes to a file-system store until it is killed: the crash the contract's file-system test
// places in the middle of writes. Four writers put and commit versions of 256 KiB (the bodies streamed in
// small chunks, so some are always in flight) and print one line per acknowledged commit: "acked <i>".
// Usage: node --import tsx fs-writer.ts <dataDir>
import { Readable } from "node:stream";
import type { PartitionId } from "../../../core/ids.ts";
import type { LogFields } from "../../../core/ports.ts";
import { FsBlobStore } from "../../../runtime/node/fs-blob-store.ts";
import { writerVersion } from "./versions.ts";

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error("usage: fs-writer.ts <dataDir>");
const quiet = (_event: string, _fields?: LogFields): void => {};
const store = await FsBlobStore.open({ dataDir, log: { debug: quiet, info: quiet, warn: quiet, error: quiet }, blockBytes: 4096 });
const partition = 1 as PartitionId;

function chunked(bytes: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      const end = Math.min(bytes.length, offset + 4096);
      this.push(offset < bytes.length ? bytes.subarray(offset, end) : null);
      offset = end;
    },
  });
}

let next = 0;
async function writer(): Promise<never> {
  for (;;) {
    const i = next++;
    const { header, version, bytes } = writerVersion(i);
    const put = await store.writePending(partition, header, chunked(bytes), undefined);
    if (!put.ok) throw new Error(`put ${i}: ${put.error.detail}`);
    const committed = await store.commit(partition, version, undefined);
    if (!committed.ok) throw new Error(`commit ${i}: ${committed.error.detail}`);
    process.stdout.write(`acked ${i}\n`);
  }
}

await Promise.all([writer(), writer(), writer(), writer()]);
