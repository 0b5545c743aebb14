// The body bytes repair moves, counted where they move: a copy pulled lands through the store's writeCommitted
// (core/repair.ts pullOne), a copy pushed leaves as a "put" request to a primary (core/repair.ts putAndCommit).
// Guarantees: the wrapped store and transport answer exactly as the inner ones; only successes are counted.
import type { Counter } from "prom-client";
import type { BlobStore, ReplicaRequest, Transport } from "../../core/ports.ts";

/** The store repair writes through, with pulled bytes counted (every other method is the store's own). */
export function countingPulls<Body, Store extends BlobStore<Body>>(store: Store, counter: Counter<"direction">): Store {
  const counted = Object.create(store) as Store;
  counted.writeCommitted = async (partition, version, body, hintFor) => {
    const written = await store.writeCommitted(partition, version, body, hintFor);
    if (written.ok) counter.inc({ direction: "pulled" }, version.size);
    return written;
  };
  return counted;
}

/** The transport repair sends with, with pushed bytes counted. */
export function countingPushes<Body>(transport: Transport<Body>, counter: Counter<"direction">): Transport<Body> {
  return {
    send: async (to, request, signal) => {
      const answer = await transport.send(to, request, signal);
      const sent = request as ReplicaRequest<Body>;
      if (answer.ok && sent.kind === "put") counter.inc({ direction: "pushed" }, sent.header.size);
      return answer;
    },
  };
}
