// The last warnings and errors a process logged, for its status page: a bounded ring of log lines.
// Guarantees: holds at most `limit` lines, newest last; a line is taken from pino's output, so it is already
// redacted (runtime/log.ts REDACTED_PATHS) and never carries what the log file would not; an overlong line is
// cut to LINE_CHARS_MAX.
import { assert } from "../core/assert.ts";

export interface WarningLine {
  readonly time: string;
  readonly level: "warn" | "error" | "fatal";
  readonly event: string;
  /** The line's other fields as JSON (the process's role and id left out), cut to LINE_CHARS_MAX. */
  readonly detail: string;
}

const LINE_CHARS_MAX = 2000;
const LEVELS: Record<number, WarningLine["level"]> = { 40: "warn", 50: "error", 60: "fatal" };

export class RecentWarnings {
  private readonly lines: WarningLine[] = [];
  /** Every warning seen since start, kept or not. */
  seenTotal = 0;

  constructor(readonly limit = 50) {
    assert(Number.isInteger(limit) && limit > 0, "a ring of warnings holds at least one line");
  }

  /** A pino destination: takes serialized JSON lines (pino.multistream hands it warn and above only). */
  write(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = LEVELS[Number(parsed.level)];
    if (level === undefined) return;
    const { level: _level, time, event, role: _role, id: _id, ...rest } = parsed;
    const detail = JSON.stringify(rest);
    this.lines.push({ time: String(time), level, event: String(event), detail: detail.length > LINE_CHARS_MAX ? `${detail.slice(0, LINE_CHARS_MAX)}…` : detail });
    if (this.lines.length > this.limit) this.lines.shift();
    this.seenTotal++;
  }

  /** Oldest first. */
  list(): readonly WarningLine[] {
    return [...this.lines];
  }
}
