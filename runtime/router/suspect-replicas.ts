// Replicas that recently failed to serve a version's body (a block failed its check, the node died or hung
// midway), remembered briefly so that the next GETs of that version ask them last instead of first, until
// repair has had time to replace the copy. Bounded: at most ENTRIES_MAX versions, each for TTL_MS.
import type { NodeId } from "../../core/ids.ts";
import type { ObjectVersion } from "../../core/object-version.ts";

const ENTRIES_MAX = 4096;
/** Repair replaces a copy found corrupt within seconds (runtime/node/main.ts corrupt queue); a minute is ample. */
const TTL_MS = 60_000;

export class SuspectReplicas {
  private readonly entries = new Map<string, { readonly nodes: Set<NodeId>; expiresMs: number }>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  note(version: Pick<ObjectVersion, "bucket" | "key" | "stamp">, node: NodeId): void {
    const id = idOf(version);
    const entry = this.entries.get(id) ?? { nodes: new Set<NodeId>(), expiresMs: 0 };
    entry.nodes.add(node);
    entry.expiresMs = this.nowMs() + TTL_MS;
    this.entries.delete(id); // re-insert: Map order is the eviction order
    this.entries.set(id, entry);
    while (this.entries.size > ENTRIES_MAX) this.entries.delete(this.entries.keys().next().value!);
  }

  of(version: Pick<ObjectVersion, "bucket" | "key" | "stamp">): readonly NodeId[] {
    const id = idOf(version);
    const entry = this.entries.get(id);
    if (!entry) return [];
    if (entry.expiresMs <= this.nowMs()) {
      this.entries.delete(id);
      return [];
    }
    return [...entry.nodes];
  }
}

const idOf = (v: Pick<ObjectVersion, "bucket" | "key" | "stamp">): string => `${v.bucket}\u0000${v.key}\u0000${v.stamp}`;
