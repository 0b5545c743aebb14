// A router hands a bucket change to every node of its view at once (a `buckets` request each), instead of
// waiting for heartbeat gossip: DeleteBucket needs to know who holds its mark (runtime/router/buckets.ts).
import type { BucketEntry } from "../../core/bucket-table.ts";
import type { NodeId } from "../../core/ids.ts";
import type { Transport } from "../../core/ports.ts";
import type { PushOutcome } from "./buckets.ts";

export async function pushBucketEntries(transport: Transport<unknown>, nodes: readonly NodeId[], entries: readonly BucketEntry[]): Promise<PushOutcome> {
  const answers = await Promise.all(nodes.map(async (node) => ({ node, answer: await transport.send(node, { kind: "buckets", entries }) })));
  return { held: answers.filter((a) => a.answer.ok).map((a) => a.node), missing: answers.filter((a) => !a.answer.ok).map((a) => a.node) };
}
