// Version stamps from a hybrid logical clock (Kulkarni et al.): physical milliseconds plus a logical
// counter, plus the writer's id. Guarantees: stamps minted by one clock strictly increase, a stamp minted
// after observing another is greater than it, and two writers never mint the same stamp; stamps compare as
// plain strings (fixed-width hex), so last writer wins is `a > b` everywhere, SQL indexes included.
// Assumes: writer ids are unique per process (router or node id) and contain no '.' before the id part.

import { assert } from "./assert.ts";
import type { Clock } from "./ports.ts";
import type { VersionStamp } from "./object-version.ts";

const PHYSICAL_HEX = 12;
const LOGICAL_HEX = 6;
const LOGICAL_MAX = 16 ** LOGICAL_HEX - 1;

export interface StampParts {
  readonly physicalMs: number;
  readonly logical: number;
  readonly writer: string;
}

export function formatStamp(parts: StampParts): VersionStamp {
  assert(Number.isInteger(parts.physicalMs) && parts.physicalMs >= 0 && parts.physicalMs < 16 ** PHYSICAL_HEX, () => `physical ${parts.physicalMs} out of range`);
  assert(Number.isInteger(parts.logical) && parts.logical >= 0 && parts.logical <= LOGICAL_MAX, () => `logical ${parts.logical} out of range`);
  assert(parts.writer.length > 0 && !parts.writer.includes("/"), () => `writer ${JSON.stringify(parts.writer)} must be non-empty without '/'`);
  return `${parts.physicalMs.toString(16).padStart(PHYSICAL_HEX, "0")}${parts.logical.toString(16).padStart(LOGICAL_HEX, "0")}.${parts.writer}` as VersionStamp;
}

const stampPattern = /^([0-9a-f]{12})([0-9a-f]{6})\.([^/]+)$/;

export function parseStamp(stamp: string): StampParts | null {
  const m = stampPattern.exec(stamp);
  if (!m) return null;
  return { physicalMs: parseInt(m[1]!, 16), logical: parseInt(m[2]!, 16), writer: m[3]! };
}

export function isStamp(value: string): value is VersionStamp {
  return stampPattern.test(value);
}

/** The smallest stamp at or after a physical time: a cut-off for "older than". */
export function stampAtMs(physicalMs: number): VersionStamp {
  return `${Math.max(0, Math.floor(physicalMs)).toString(16).padStart(PHYSICAL_HEX, "0")}${"0".repeat(LOGICAL_HEX)}.` as VersionStamp;
}

export class HybridLogicalClock {
  private physicalMs = 0;
  private logical = 0;

  constructor(
    private readonly clock: Clock,
    readonly writer: string,
  ) {
    assert(/^[^/.][^/]*$/.test(writer), () => `writer id ${JSON.stringify(writer)} is not usable in a stamp`);
  }

  /** A new stamp, greater than every stamp this clock minted or observed. */
  mint(): VersionStamp {
    const wall = Math.floor(this.clock.nowMs());
    if (wall > this.physicalMs) {
      this.physicalMs = wall;
      this.logical = 0;
    } else {
      this.bumpLogical();
    }
    return formatStamp({ physicalMs: this.physicalMs, logical: this.logical, writer: this.writer });
  }

  /** Fold in a stamp seen from another process, so later stamps from here sort after it. */
  observe(stamp: VersionStamp): void {
    const seen = parseStamp(stamp);
    assert(seen !== null, () => `not a version stamp: ${stamp}`);
    if (seen.physicalMs > this.physicalMs) {
      this.physicalMs = seen.physicalMs;
      this.logical = seen.logical;
    } else if (seen.physicalMs === this.physicalMs && seen.logical > this.logical) {
      this.logical = seen.logical;
    }
  }

  private bumpLogical(): void {
    if (this.logical < LOGICAL_MAX) {
      this.logical += 1;
      return;
    }
    // 16M stamps in one millisecond: borrow the next millisecond rather than wrap.
    this.physicalMs += 1;
    this.logical = 0;
  }
}
