// The runtime's Log port: one JSON line per event (pino), with the process's role and id on every line.
import { pino } from "pino";
import pinoPretty from "pino-pretty";
import type { Log, LogFields } from "../core/ports.ts";
import type { RecentWarnings } from "./recent-warnings.ts";

export interface RuntimeLog extends Log {
  child(fields: LogFields): RuntimeLog;
}

/**
 * Fields that may carry a secret or a signature, wherever a log call puts them: pino replaces their values.
 * URLs are redacted where they are logged (runtime/router/app.ts redactedUrl), since a signature sits inside one.
 */
const REDACTED_PATHS = [
  "secret", "*.secret", "secretAccessKey", "*.secretAccessKey", "secretKey", "*.secretKey",
  "authorization", "*.authorization", "headers.authorization", "signature", "*.signature",
  "signingKey", "*.signingKey", "clusterSecret", "*.clusterSecret", 'headers["x-amz-security-token"]',
];

export interface LogOptions {
  readonly level?: string;
  /** File descriptor of the JSON lines (default 1, stdout). */
  readonly destination?: number;
  /** Colored, one readable line per event for a terminal (pino-pretty) instead of JSON lines. */
  readonly pretty?: boolean;
  /** Also keeps the last warnings and errors here, as written (redacted), for the status page. */
  readonly recent?: RecentWarnings;
}

export function createLog(bindings: LogFields, options: LogOptions = {}): RuntimeLog {
  const level = options.level ?? process.env.RINGSTORE_LOG_LEVEL ?? "info";
  const fd = options.destination ?? 1;
  const pretty = options.pretty ?? process.env.RINGSTORE_LOG_PRETTY === "1";
  const main = pretty ? pinoPretty({ destination: fd, messageKey: "event", translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", sync: true }) : pino.destination({ dest: fd, sync: false });
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: main }];
  if (options.recent) streams.push({ level: "warn", stream: options.recent });
  const base = pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "event", redact: { paths: REDACTED_PATHS, censor: "REDACTED" } }, pino.multistream(streams));
  return wrap(base);
}

function wrap(logger: pino.Logger): RuntimeLog {
  return {
    debug: (event, fields) => logger.debug(fields ?? {}, event),
    info: (event, fields) => logger.info(fields ?? {}, event),
    warn: (event, fields) => logger.warn(fields ?? {}, event),
    error: (event, fields) => logger.error(fields ?? {}, event),
    child: (fields) => wrap(logger.child(fields)),
  };
}

/** A Log that drops everything: for tests that assert on behaviour, not on logs. */
export const silentLog: RuntimeLog = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLog,
};
