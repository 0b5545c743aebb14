// A GET body that survives the loss of its replica midway: when the stream from one replica fails (a block
// failed the node's check, the node died, or it sent nothing for the progress timeout), the rest is fetched
// from another replica of the same version, starting at the first byte not yet passed on, and spliced in.
// Guarantees: the output carries exactly `lengthBytes` bytes, in order, each passed on once; it fails only when
// no replica can continue (`resume` says so), with an error naming every cause; a replica body that ends short
// without an error counts as a failure of that replica, never as the end of the object. Which replica serves
// the rest is core's decision (core/coordinator.ts resumeBody); this module only splices streams.
import { Readable } from "node:stream";
import { assert } from "../../core/assert.ts";
import type { NodeId } from "../../core/ids.ts";

export interface BodySource {
  readonly body: Readable;
  readonly from: NodeId;
}

/** The rest of the body after `deliveredBytes`, or why there is none. */
export type ResumeFn = (deliveredBytes: number, failedNodes: readonly NodeId[], resumesDone: number) => Promise<BodySource | { readonly failed: string }>;

const OUTPUT_HIGH_WATER_BYTES = 1024 * 1024;

export function resumingBody(first: BodySource, lengthBytes: number, resume: ResumeFn): Readable {
  assert(Number.isSafeInteger(lengthBytes) && lengthBytes > 0, () => `a resumable body has a positive length, not ${lengthBytes}`);
  async function* bytes(): AsyncGenerator<Buffer> {
    let source = first;
    let deliveredBytes = 0;
    let resumesDone = 0;
    const failedNodes: NodeId[] = [];
    const causes: string[] = [];
    for (;;) {
      try {
        for await (const chunk of source.body as AsyncIterable<Buffer>) {
          if (deliveredBytes + chunk.length > lengthBytes) throw new Error(`${source.from} sent more than the ${lengthBytes} B asked for`);
          deliveredBytes += chunk.length;
          yield chunk;
        }
        if (deliveredBytes === lengthBytes) return;
        throw new Error(`${source.from}'s body ended at ${deliveredBytes} of ${lengthBytes} B`);
      } catch (error) {
        source.body.destroy();
        failedNodes.push(source.from);
        causes.push(`${source.from}: ${error instanceof Error ? error.message : String(error)}`);
        if (deliveredBytes === lengthBytes) throw error; // nothing left that another replica could send
        const next = await resume(deliveredBytes, failedNodes, resumesDone);
        resumesDone += 1;
        if ("failed" in next) throw new Error(`the body broke after ${deliveredBytes} of ${lengthBytes} B and no replica could continue (${next.failed}); causes: ${causes.join("; ")}`);
        source = next;
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: OUTPUT_HIGH_WATER_BYTES });
}
