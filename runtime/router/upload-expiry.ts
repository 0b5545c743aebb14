// Incomplete multipart uploads expire: their parts hold disk until someone aborts them, and clients that
// crash mid-upload never do. Each router sweeps the upload records now and then and aborts those older than
// their bucket's AbortIncompleteMultipartUpload rule, or than the cluster default (7 days) when that is
// sooner. Aborting is idempotent, so routers sweeping at once only repeat work; the sweeps are jittered.
// Guarantees: an upload is aborted only once its age exceeds the smallest limit that applies to its key;
// one sweep runs at a time per router; a failed sweep is one log line and the next one tries again.
import type { RuntimeLog } from "../log.ts";
import type { BucketRegistry } from "./buckets.ts";
import type { Multipart } from "./multipart.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
export const UPLOAD_AGE_MAX_MS_DEFAULT = 7 * DAY_MS;
export const UPLOAD_SWEEP_INTERVAL_MS_DEFAULT = 60 * 60 * 1000;

export interface UploadExpirySettings {
  /** The cluster default: no upload lives longer, whatever its bucket says. */
  readonly ageMaxMs: number;
  readonly sweepIntervalMs: number;
  readonly nowMs?: () => number;
}

export function startUploadExpiry(deps: { multipart: Multipart; buckets: BucketRegistry; log: RuntimeLog } & UploadExpirySettings): () => void {
  const nowMs = deps.nowMs ?? Date.now;
  let running = false;
  const ageMaxMsFor = async (bucket: string, key: string): Promise<number> => {
    // A deleted bucket's uploads have no rules left: the default applies.
    const rules = (await deps.buckets.find(bucket).catch(() => null))?.settings.lifecycle ?? [];
    let limit = deps.ageMaxMs;
    for (const rule of rules) if (rule.enabled && key.startsWith(rule.prefix)) limit = Math.min(limit, rule.daysAfterInitiation * DAY_MS);
    return limit;
  };
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const aborted = await deps.multipart.expireUploads(nowMs(), ageMaxMsFor);
      if (aborted > 0) deps.log.info("multipart.expiry-sweep", { aborted });
    } catch (error) {
      deps.log.warn("multipart.expiry-sweep-failed", { cause: error instanceof Error ? error.message : String(error) });
    } finally {
      running = false;
    }
  };
  // Jitter spreads the routers' sweeps apart.
  const timer = setInterval(() => void sweep(), deps.sweepIntervalMs * (0.75 + Math.random() / 2));
  timer.unref();
  return () => clearInterval(timer);
}
