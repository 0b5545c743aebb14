// Conditional GET and HEAD (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), as S3 and
// RFC 9110 order them: a CDN or video player revalidating a cached segment gets 304 without the body.
import { parseStamp } from "../../core/version.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { S3Error } from "../s3/errors.ts";

export type ConditionOutcome = "proceed" | "not-modified";

function etagListMatches(header: string, etag: string): boolean {
  return header.split(",").some((raw) => {
    const candidate = raw.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === `"${etag}"` || candidate === etag;
  });
}

function dateOf(header: string): number | undefined {
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? undefined : ms;
}

export function evaluateConditions(headers: { get(name: string): string }, version: ObjectVersion): ConditionOutcome {
  // HTTP dates have one-second resolution: compare whole seconds.
  const modifiedSeconds = Math.floor((parseStamp(version.stamp)?.physicalMs ?? 0) / 1000);
  const ifMatch = headers.get("if-match");
  const ifNoneMatch = headers.get("if-none-match");
  const ifModifiedSince = dateOf(headers.get("if-modified-since"));
  const ifUnmodifiedSince = dateOf(headers.get("if-unmodified-since"));
  if (ifMatch) {
    if (!etagListMatches(ifMatch, version.etag)) throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "If-Match" } });
  } else if (ifUnmodifiedSince !== undefined && modifiedSeconds > Math.floor(ifUnmodifiedSince / 1000)) {
    throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "If-Unmodified-Since" } });
  }
  if (ifNoneMatch) {
    if (etagListMatches(ifNoneMatch, version.etag)) return "not-modified";
  } else if (ifModifiedSince !== undefined && modifiedSeconds <= Math.floor(ifModifiedSince / 1000)) {
    return "not-modified";
  }
  return "proceed";
}

/**
 * Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match: *` fails when the key has a live
 * version, `If-Match` when its newest version's ETag is not one listed (or there is none: NoSuchKey, as S3).
 * The check reads the newest version a read quorum knows before the write: it stops every overwrite that is
 * not concurrent with the write, but two conditional writers racing each other can both succeed (S3's own
 * check is atomic; ringstore has no per-key lock to make it so).
 */
export async function checkWriteConditions(headers: { get(name: string): string }, current: () => Promise<ObjectVersion | null>, key: string): Promise<void> {
  const ifNoneMatch = headers.get("if-none-match").trim();
  const ifMatch = headers.get("if-match").trim();
  if (!ifNoneMatch && !ifMatch) return;
  if (ifNoneMatch && ifNoneMatch !== "*") throw new S3Error("NotImplemented", "If-None-Match on a write takes only *.");
  const version = await current();
  const live = version !== null && !version.deleted ? version : null;
  if (ifNoneMatch && live) throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "If-None-Match" } });
  if (ifMatch) {
    if (!live) throw new S3Error("NoSuchKey", undefined, { extra: { Key: key } });
    if (!etagListMatches(ifMatch, live.etag)) throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "If-Match" } });
  }
}
