// How long the store's durable steps take: each SQLite statement of the metadata index, each fsync of a body
// file or a directory. The node hands these to its metrics (runtime/metrics.ts); tests leave them out.
// Guarantees: a timed statement behaves exactly as the untimed one (same arguments, result and exception);
// statement names come from the index's fixed table of statements, so a label never carries a key.
import type { Statement } from "better-sqlite3";

export interface StoreTimings {
  /** One run/get/all of the index statement `name` took `seconds` (iterate is not timed: its consumer sets its pace). */
  statement(name: string, seconds: number): void;
  fsync(target: "file" | "directory", seconds: number): void;
}

const secondsSince = (startedMs: number): number => (performance.now() - startedMs) / 1000;

/** The same statements, their run/get/all timed. */
export function timedStatements<T extends object>(statements: T, timings: StoreTimings | undefined): T {
  if (timings === undefined) return statements;
  for (const [name, statement] of Object.entries(statements) as [string, Statement][]) {
    for (const method of ["run", "get", "all"] as const) {
      const inner = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const started = performance.now();
        try {
          return inner(...args);
        } finally {
          timings.statement(name, secondsSince(started));
        }
      };
    }
  }
  return statements;
}

/** Runs one fsync and reports its duration, failed ones too. */
export async function timedFsync(timings: StoreTimings | undefined, target: "file" | "directory", sync: () => Promise<void>): Promise<void> {
  const started = performance.now();
  try {
    await sync();
  } finally {
    timings?.fsync(target, secondsSince(started));
  }
}
