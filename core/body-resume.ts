// Resuming a body that broke midway (a block failed its check, the serving node died or hung) from another
// replica of the same version.
// Guarantees: the rest is asked for from exactly the first byte not yet delivered to where the original
// request ends, so the reader sees one contiguous body; a replica that already failed this body is not asked
// again; at most `resumesMax` resumes per body; a body with nothing left to send is never resumed.
// Assumes: every replica of one version (same stamp and checksum) holds the same bytes (core/object-version.ts),
// so the bytes already sent from one replica and the rest from another make the version's body.
import { assert } from "./assert.ts";
import type { NodeId } from "./ids.ts";
import type { ByteRange } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";

export interface ResumeInput {
  /** The version's size in bytes. */
  readonly sizeBytes: number;
  /** The range the reader asked for; undefined: the whole body. */
  readonly range: ByteRange | undefined;
  /** Bytes of that range already handed to the reader. */
  readonly deliveredBytes: number;
  /** Replicas that failed this body so far (before it started or midway), in order. */
  readonly failedNodes: readonly NodeId[];
  readonly resumesDone: number;
  readonly resumesMax: number;
}

export interface ResumePlan {
  /** The rest of the body, in the version's byte offsets. */
  readonly range: ByteRange;
  /** Replicas not to ask. */
  readonly exclude: readonly NodeId[];
}

/** Bytes the original request covers. */
export function requestedBytes(sizeBytes: number, range: ByteRange | undefined): number {
  return range ? range.endInclusive - range.start + 1 : sizeBytes;
}

export function planResume(input: ResumeInput): Result<ResumePlan, string> {
  const wanted = requestedBytes(input.sizeBytes, input.range);
  assert(input.deliveredBytes >= 0 && input.deliveredBytes <= wanted, () => `delivered ${input.deliveredBytes} B of a ${wanted} B body`);
  assert(!input.range || (input.range.start >= 0 && input.range.endInclusive < input.sizeBytes), "the range lies inside the version");
  if (input.deliveredBytes === wanted) return err("every byte was already delivered: nothing to resume");
  if (input.resumesDone >= input.resumesMax) return err(`gave up after ${input.resumesDone} resumes`);
  const start = (input.range?.start ?? 0) + input.deliveredBytes;
  const endInclusive = input.range?.endInclusive ?? input.sizeBytes - 1;
  const plan = { range: { start, endInclusive }, exclude: [...new Set(input.failedNodes)] };
  assert(plan.range.endInclusive - plan.range.start + 1 === wanted - input.deliveredBytes, "the rest is exactly what was not delivered");
  return ok(plan);
}
