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
