// A naive storage node for the simulator: answers the replica protocol straight from its disk, with no
// catch-up state, no repair and no gossip of its own. Guarantees: nothing beyond the protocol; it exists to
// exercise the simulator itself and to show that the oracle fails a cluster that never repairs.
// Assumes: bodies are checked by the coordinator (verifyBody), not here.

import { mapHash } from "../core/membership.ts";
import type { ReplicaRequest, TransportFailure } from "../core/ports.ts";
import { type Result, err, ok } from "../core/result.ts";
import type { SimBody } from "./body.ts";
import { startCoreRouter } from "./core-router.ts";
import type { Logic, NodeContext, NodeInstance } from "./logic.ts";

const fail = (kind: TransportFailure["kind"], detail: string): Result<never, TransportFailure> => err({ kind, detail });

export function startNaiveNode(ctx: NodeContext): NodeInstance {
  const disk = ctx.disk;
  const handle = async (_from: string, request: ReplicaRequest<SimBody>): Promise<Result<unknown, TransportFailure>> => {
    switch (request.kind) {
      case "put": {
        const r = await disk.writePending(request.partition, request.header, request.body, request.hintFor);
        return r.ok ? ok(r.value) : fail(r.error.kind === "disk-full" ? "disk-full" : "remote", r.error.detail);
      }
      case "commit": {
        const r = await disk.commit(request.partition, request.version, request.hintFor, request.written);
        return r.ok ? ok({ committed: true }) : fail(r.error.kind === "not-found" ? "not-found" : "remote", r.error.detail);
      }
      // A read is answered as a head: the reader then fetches the body with a get.
      case "head":
      case "read": {
        const r = await disk.headCommitted(request.bucket, request.key);
        return r.ok ? ok({ version: r.value }) : fail("remote", r.error.detail);
      }
      case "get": {
        const r = await disk.readBody(request.bucket, request.key, request.stamp, request.range);
        return r.ok ? ok(r.value) : fail(r.error.kind === "not-found" ? "not-found" : r.error.kind === "corrupt" ? "corrupt" : "remote", r.error.detail);
      }
      case "drop": {
        const r = await disk.drop(request.bucket, request.key, request.stamp);
        return r.ok ? ok({ dropped: r.value }) : fail("remote", r.error.detail);
      }
      case "heartbeat":
        return ok({ epoch: ctx.storedMap().epoch, mapHash: mapHash(ctx.storedMap()) });
      case "get-map":
        return ok({ map: ctx.storedMap() });
      default:
        return fail("remote", `naive node does not serve ${request.kind}`);
    }
  };
  return { handle, installMap: (map) => ctx.storeMap(map) };
}

export const naiveLogic: Logic = { name: "naive", startNode: startNaiveNode, startRouter: startCoreRouter };
