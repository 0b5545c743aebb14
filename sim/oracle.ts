// The oracle: records every client operation and checks DESIGN.md's invariants.
// Guarantees: a violation is recorded (with the virtual time and the key) when
//   - a read returns bytes whose content hash differs from the version's checksum (corrupt bytes returned),
//   - a read returns a version no client ever wrote for that key,
//   - a read returns a version older (in stamp order, last writer wins) than the newest one acknowledged
//     before the read began, or "not found" when no delete could explain it,
//   - at the end, the newest copy the cluster holds of a key is older than its newest acknowledged write
//     (an acknowledged write was lost),
//   - after faults stop and repair quiesces, a live object lacks a good copy on one of its N primaries or any
//     copy of a key is left on a node that is not one of its primaries.
//   - availability, where the run asks for it (sim/availability.ts): a read or write that failed although the
//     run required it to succeed (every acknowledged object readable and writes accepted once failure
//     detection has settled; see `availabilityRequired`).
//   - last writer wins by completion (S3's rule): of two puts of a key through one router process (one clock),
//     one acknowledged before the other's body was stored on any replica must lose to it (bodyStored).
// Order is stamp order, not wall order: with skewed clocks a later write can lose to an earlier one under last
// writer wins, and that is the documented semantics, not a lost write.
// Beyond the fault model: when injected faults destroy every copy of an acknowledged write (disks wiped while
// they held its only copies), no system could keep it. The world reports each wipe (copiesDestroyed); such
// writes are counted in `writesDestroyedByFaults` and reads older than them are not violations. Pending and
// corrupt copies count as surviving, so the excuse is never broader than the loss.
// Assumes: content hashes identify client writes uniquely (sim/body.ts clientBody).

import type { NodeId } from "../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../core/object-version.ts";
import type { SimBody } from "./body.ts";
import type { ReadOutcome, WriteOutcome } from "./logic.ts";

export type OpKind = "put" | "delete";

interface WriteRecord {
  readonly key: string;
  readonly kind: OpKind;
  readonly contentHash: string | null;
  readonly startMs: number;
  /** The router process the client sent it to: stamps of one process's clock follow its real order. */
  readonly via: object | undefined;
  outcome: "pending" | "acked" | "failed";
  stamp: VersionStamp | undefined;
  endMs: number | undefined;
  /** When a replica first held its body durably (a pending copy): its stamp may be minted only after that. */
  firstStoredMs: number | undefined;
}

export interface Acked {
  readonly stamp: VersionStamp;
  readonly kind: OpKind;
  readonly contentHash: string | null;
}

interface KeyHistory {
  readonly writes: WriteRecord[];
  /** The acknowledged write with the greatest stamp, so far. */
  ackedMax: Acked | undefined;
}

export interface ReadToken {
  readonly key: string;
  readonly startMs: number;
  readonly ackedAtStart: Acked | undefined;
}

export interface Violation {
  readonly atMs: number;
  readonly key: string;
  readonly what: string;
  /** Set when the violation is an instance of a known, reported core finding (see KNOWN_FINDINGS). */
  readonly known?: KnownFinding;
}

/** Core findings the simulator has reported; a violation is labelled with one only when it provably is one. */
export const KNOWN_FINDINGS = {
  "sloppy-read-quorum":
    "F1: core/coordinator.ts readObject counts handoffs' answers toward R; when fewer than R primaries are reachable and caught up, a read can miss an acknowledged write (404 or an older version) instead of failing",
} as const;
export type KnownFinding = keyof typeof KNOWN_FINDINGS;

export interface OracleCounts {
  putsAcked: number;
  putsFailed: number;
  deletesAcked: number;
  deletesFailed: number;
  readsChecked: number;
  readsFailed: number;
  readsFound: number;
  /** Acknowledged writes whose every copy injected faults destroyed (see the header). */
  writesDestroyedByFaults: number;
}

const VIOLATIONS_MAX = 50;

export class Oracle {
  private readonly keys = new Map<string, KeyHistory>();
  private readonly byContent = new Map<string, WriteRecord>();
  readonly violations: Violation[] = [];
  readonly counts: OracleCounts = { putsAcked: 0, putsFailed: 0, deletesAcked: 0, deletesFailed: 0, readsChecked: 0, readsFailed: 0, readsFound: 0, writesDestroyedByFaults: 0 };
  /** Per key, the newest acknowledged stamp whose every copy faults destroyed. */
  private readonly destroyed = new Map<string, VersionStamp>();
  /** Called once with the first violation, so the run can stop and print the trace tail. */
  onViolation: ((v: Violation) => void) | undefined;
  /**
   * Set by the run when the scenario asks for availability: why an operation that ran over [startMs, endMs]
   * had to succeed, or undefined when it was allowed to fail (sim/availability.ts).
   */
  availabilityRequired: ((startMs: number, endMs: number) => string | undefined) | undefined;

  constructor(private readonly now: () => number) {}

  private history(key: string): KeyHistory {
    let h = this.keys.get(key);
    if (h === undefined) {
      h = { writes: [], ackedMax: undefined };
      this.keys.set(key, h);
    }
    return h;
  }

  violate(key: string, what: string, known?: KnownFinding): void {
    const v: Violation = { atMs: this.now(), key, what: known ? `${what} [known finding ${KNOWN_FINDINGS[known].slice(0, 2)}: read quorum made up with handoffs' answers]` : what, ...(known ? { known } : {}) };
    if (this.violations.length < VIOLATIONS_MAX) this.violations.push(v);
    if (this.violations.length === 1) this.onViolation?.(v);
  }

  writeStarted(key: string, kind: OpKind, body: SimBody | null, via?: object): WriteRecord {
    const record: WriteRecord = { key, kind, contentHash: body?.contentHash ?? null, startMs: this.now(), via, outcome: "pending", stamp: undefined, endMs: undefined, firstStoredMs: undefined };
    this.history(key).writes.push(record);
    if (record.contentHash !== null) this.byContent.set(record.contentHash, record);
    return record;
  }

  writeEnded(record: WriteRecord, outcome: WriteOutcome): void {
    record.endMs = this.now();
    if (!outcome.ok) {
      record.outcome = "failed";
      if (record.kind === "put") this.counts.putsFailed += 1;
      else this.counts.deletesFailed += 1;
      const required = this.availabilityRequired?.(record.startMs, record.endMs);
      if (required !== undefined) this.violate(record.key, `unavailable: ${record.kind} started at ${record.startMs.toFixed(3)} failed (${outcome.reason}), but ${required}`);
      return;
    }
    record.outcome = "acked";
    record.stamp = outcome.stamp;
    if (record.kind === "put") this.counts.putsAcked += 1;
    else this.counts.deletesAcked += 1;
    const h = this.history(record.key);
    if (h.ackedMax === undefined || outcome.stamp > h.ackedMax.stamp) h.ackedMax = { stamp: outcome.stamp, kind: record.kind, contentHash: record.contentHash };
    if (record.kind === "put") this.checkCompletionOrder(h, record);
  }

  /** A replica stored a body durably (pending or committed): the first time, for the client write it is. */
  bodyStored(contentHash: string): void {
    const record = this.byContent.get(contentHash);
    if (record !== undefined && record.firstStoredMs === undefined) record.firstStoredMs = this.now();
  }

  /**
   * Last writer wins by completion: a put acknowledged before another put's body reached any replica completed
   * first, so through one router process (whose clock orders its stamps) it must have the smaller stamp. Stamped
   * at the start instead, a long upload begun first would lose to a short one begun after it and finished first.
   */
  private checkCompletionOrder(h: KeyHistory, done: WriteRecord): void {
    for (const other of h.writes) {
      if (other === done || other.kind !== "put" || other.outcome !== "acked" || other.via !== done.via || done.via === undefined) continue;
      for (const [first, then] of [[other, done], [done, other]] as const) {
        if (first.endMs! < (then.firstStoredMs ?? Infinity) && first.stamp! > then.stamp!) {
          this.violate(done.key, `completion order: put ${first.stamp} was acknowledged at ${first.endMs!.toFixed(3)}, before put ${then.stamp}'s body reached any replica (${then.firstStoredMs?.toFixed(3)}), yet it wins`);
        }
      }
    }
  }

  readStarted(key: string): ReadToken {
    return { key, startMs: this.now(), ackedAtStart: this.keys.get(key)?.ackedMax };
  }

  readEnded(token: ReadToken, outcome: ReadOutcome): void {
    if (!outcome.ok) {
      this.counts.readsFailed += 1;
      const required = this.availabilityRequired?.(token.startMs, this.now());
      if (required !== undefined) this.violate(token.key, `unavailable: read started at ${token.startMs.toFixed(3)} failed (${outcome.reason}), but ${required}`);
      return;
    }
    this.counts.readsChecked += 1;
    const { key, ackedAtStart } = token;
    const sloppy: KnownFinding | undefined = outcome.sloppy ? "sloppy-read-quorum" : undefined;
    if (outcome.found) {
      this.counts.readsFound += 1;
      const { version, body } = outcome;
      if (version.key !== key) return this.violate(key, `read returned ${version.key}@${version.stamp} for key ${key}`);
      if (body.contentHash !== version.checksum || body.corrupt) {
        return this.violate(key, `corrupt bytes returned: body ${body.contentHash} for version ${version.stamp} with checksum ${version.checksum}`);
      }
      const written = this.byContent.get(version.checksum);
      if (written === undefined || written.key !== key) return this.violate(key, `read returned ${version.stamp} (checksum ${version.checksum}), which no client wrote for this key`);
      if (ackedAtStart !== undefined && version.stamp < ackedAtStart.stamp && !this.wasDestroyed(key, ackedAtStart.stamp)) {
        return this.violate(key, `stale read: got ${version.stamp}, but ${ackedAtStart.kind} ${ackedAtStart.stamp} was acknowledged before the read began at ${token.startMs.toFixed(3)}`, sloppy);
      }
      return;
    }
    if (ackedAtStart === undefined || ackedAtStart.kind === "delete" || this.wasDestroyed(key, ackedAtStart.stamp)) return;
    if (outcome.tombstone !== undefined) {
      if (outcome.tombstone < ackedAtStart.stamp) this.violate(key, `stale read: tombstone ${outcome.tombstone} older than acknowledged put ${ackedAtStart.stamp}`, sloppy);
      return;
    }
    // No stamp given: some delete that may be newer than the acknowledged put must exist.
    if (!this.deleteMayExplain(key, ackedAtStart.stamp)) this.violate(key, `read found nothing, but put ${ackedAtStart.stamp} was acknowledged before the read began at ${token.startMs.toFixed(3)} and no delete can explain it`, sloppy);
  }

  /** Was a delete of this key attempted whose stamp is unknown (it failed, so it may still have landed) or newer? */
  private deleteMayExplain(key: string, stamp: VersionStamp): boolean {
    return this.keys.get(key)?.writes.some((w) => w.kind === "delete" && (w.stamp === undefined || w.stamp > stamp)) ?? false;
  }

  /**
   * Disks were wiped: every acknowledged key whose newest acknowledged write has no copy left (of that stamp or
   * newer, committed or pending, on any disk) was destroyed by the faults, unless the logic itself had dropped
   * a committed copy of it before (then the loss is the logic's doing: a handoff copy dropped too early, say).
   * `copies` lists the stamps held.
   */
  copiesDestroyed(copies: (key: string) => readonly VersionStamp[], droppedByLogic: (key: string, stamp: VersionStamp) => boolean): void {
    for (const [key, acked] of this.ackedKeys()) {
      if (this.wasDestroyed(key, acked.stamp)) continue;
      if (copies(key).some((stamp) => stamp >= acked.stamp)) continue;
      if (droppedByLogic(key, acked.stamp)) continue;
      this.destroyed.set(key, acked.stamp);
      this.counts.writesDestroyedByFaults += 1;
    }
  }

  private wasDestroyed(key: string, stamp: VersionStamp): boolean {
    const destroyed = this.destroyed.get(key);
    return destroyed !== undefined && destroyed >= stamp;
  }

  /** Calls visit with each key's newest acknowledged write, in first-write order. */
  forEachAcked(visit: (key: string, acked: Acked) => void): void {
    this.keys.forEach((h, key) => {
      if (h.ackedMax !== undefined) visit(key, h.ackedMax);
    });
  }

  /** Keys with their newest acknowledged write, in first-write order. */
  *ackedKeys(): Generator<[string, Acked]> {
    for (const [key, h] of this.keys) if (h.ackedMax !== undefined) yield [key, h.ackedMax];
  }

  keyCount(): number {
    return this.keys.size;
  }

  // ---- what sim/listing-check.ts reads ----

  /** Every key's newest acknowledged write so far: what a listing that begins now must reflect. */
  ackedSnapshot(): Map<string, Acked> {
    return new Map(this.ackedKeys());
  }

  /** Whether a delete of `key` began by `atMs` that may be newer than `stamp` (its stamp unknown, or greater). */
  deleteBegunBy(key: string, stamp: VersionStamp, atMs: number): boolean {
    return this.keys.get(key)?.writes.some((w) => w.kind === "delete" && w.startMs <= atMs && (w.stamp === undefined || w.stamp > stamp)) ?? false;
  }

  /** Whether a put of `key` began by `atMs` (whatever became of it). */
  putBegunBy(key: string, atMs: number): boolean {
    return this.keys.get(key)?.writes.some((w) => w.kind === "put" && w.startMs <= atMs) ?? false;
  }

  /** Whether faults destroyed every copy of the key's acknowledged write `stamp` (or a newer one). */
  destroyedThrough(key: string, stamp: VersionStamp): boolean {
    return this.wasDestroyed(key, stamp);
  }

  /** Every key any client wrote or deleted, in first-write order. */
  knownKeys(): IterableIterator<string> {
    return this.keys.keys();
  }

  /** The client write a checksum belongs to, if any. */
  writtenContent(contentHash: string): { key: string } | undefined {
    return this.byContent.get(contentHash);
  }

  /**
   * End of run, durability: for each key, the newest committed copy on the given nodes must be at least as
   * new as the newest acknowledged write, and when that is a put, some copy of it must be intact.
   */
  checkNothingLost(holders: (key: string) => { version: ObjectVersion; body: SimBody; node: NodeId }[]): void {
    for (const [key, acked] of this.ackedKeys()) {
      const copies = holders(key);
      let newest: ObjectVersion | undefined;
      for (const c of copies) if (newest === undefined || c.version.stamp > newest.stamp) newest = c.version;
      if (this.wasDestroyed(key, acked.stamp)) continue;
      if (newest === undefined || newest.stamp < acked.stamp) {
        // Nothing left: fine after a delete (its tombstone was collected), or after a failed delete that may
        // have landed on some replicas and won (last writer wins) before being collected.
        if (newest === undefined && (acked.kind === "delete" || this.deleteMayExplain(key, acked.stamp))) continue;
        this.violate(key, `acknowledged ${acked.kind} ${acked.stamp} lost: newest copy in the cluster is ${newest?.stamp ?? "none"}`);
        continue;
      }
      if (acked.kind === "put" && newest.stamp === acked.stamp && !copies.some((c) => c.version.stamp === acked.stamp && c.body.contentHash === c.version.checksum)) {
        this.violate(key, `acknowledged put ${acked.stamp} survives only in corrupt copies`);
      }
    }
  }
}
