// Multipart uploads' decisions, once, for the runtime's router (runtime/router/multipart.ts) and the simulated
// one (sim/core-router.ts): which stored parts a Complete may name, what it keeps, and what an Abort, a
// Complete or a replacing write leaves to collect. The bytes never pass through here: a completed object is
// a manifest naming each part's exact version (core/manifest.ts), written by the caller.
// Guarantees:
//   - completeUpload writes the object only when every named part is stored with the ETag the client gave
//     and every part but the last holds at least `partBytesMin` bytes; its manifest names exactly those
//     versions, in the client's order; only parts it did not name are dropped afterwards;
//   - abortUpload drops the parts before it removes the upload's record, so an abort that could not drop
//     them all fails and leaves the upload open (a retry, or expiry, finishes it) instead of leaving parts
//     that nothing names and nothing collects;
//   - collectReplacedUpload drops a multipart object's parts only when a newer version replaced it.
// Assumes: parts are objects in PARTS_BUCKET under `uploadId/` (core/manifest.ts partKey); the caller checked
// that the upload exists.
import { AssertionError, assert } from "./assert.ts";
import { type Manifest, type ManifestPart, PARTS_BUCKET, UPLOADS_BUCKET, isManifestObject, partKey } from "./manifest.ts";
import type { ObjectVersion, VersionStamp } from "./object-version.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import { mapLimit } from "./quorum.ts";
import { type Result, err, ok } from "./result.ts";

/** S3: every part but the last is at least 5 MiB. */
export const PART_BYTES_MIN = 5 * 1024 * 1024;
const PART_LOOKUPS_IN_FLIGHT_MAX = 16;
const DROP_PAGE_KEYS = 1000;

/** What multipart needs of the replicated object service; a failed call rejects. */
export interface UploadObjects {
  head(bucket: string, key: string): Promise<ObjectVersion | null>;
  remove(bucket: string, key: string): Promise<unknown>;
  list(bucket: string, prefix: string, after: string, limit: number): Promise<{ readonly versions: readonly ObjectVersion[]; readonly truncated: boolean }>;
}

export interface RequestedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export type CompletionRefusal =
  | { readonly kind: "invalid-part"; readonly partNumber: number; readonly etag: string }
  | { readonly kind: "too-small"; readonly partNumber: number; readonly size: number };

export interface UploadRef {
  readonly uploadId: string;
  /** The name of the upload's record in UPLOADS_BUCKET. */
  readonly record: string;
}

export interface CompleteOptions {
  readonly partBytesMin?: number;
  readonly bugs?: PlantedBugs;
}

export interface Completed {
  readonly version: ObjectVersion;
  readonly parts: readonly ManifestPart[];
  /** Drops the upload's parts the manifest does not name (re-sent or left out); callers may leave it running. */
  dropUnnamed(): Promise<DropReport>;
}

export interface DropReport {
  readonly dropped: number;
  /** Why dropping stopped early: the parts not reached are still stored. */
  readonly failure?: string;
}

/**
 * The manifest parts a Complete names: each requested part as stored (`stored[i]` for `wanted[i]`), or the
 * first refusal S3 would send (InvalidPart, EntityTooSmall).
 */
export function planCompletion(wanted: readonly RequestedPart[], stored: readonly (ObjectVersion | null)[], partBytesMin = PART_BYTES_MIN): Result<ManifestPart[], CompletionRefusal> {
  assert(stored.length === wanted.length, () => `${stored.length} parts looked up for ${wanted.length} requested`);
  const parts: ManifestPart[] = [];
  for (const [i, want] of wanted.entries()) {
    const have = stored[i];
    if (!have || have.deleted || have.etag !== want.etag) return err({ kind: "invalid-part", partNumber: want.partNumber, etag: want.etag });
    if (i < wanted.length - 1 && have.size < partBytesMin) return err({ kind: "too-small", partNumber: want.partNumber, size: have.size });
    parts.push({ partNumber: want.partNumber, key: have.key, stamp: have.stamp, size: have.size, etag: have.etag, checksum: have.checksum });
  }
  return ok(parts);
}

/**
 * CompleteMultipartUpload after the upload was found: looks the named parts up, plans the manifest, has
 * `writeObject` write the object (its body is the manifest), then removes the upload's record.
 */
export async function completeUpload(objects: UploadObjects, upload: UploadRef, wanted: readonly RequestedPart[], writeObject: (manifest: Manifest) => Promise<ObjectVersion>, options: CompleteOptions = {}): Promise<Result<Completed, CompletionRefusal>> {
  const stored = await mapLimit(wanted, PART_LOOKUPS_IN_FLIGHT_MAX, (p) => objects.head(PARTS_BUCKET, partKey(upload.uploadId, p.partNumber)));
  const planned = planCompletion(wanted, stored, options.partBytesMin);
  if (!planned.ok) return planned;
  const parts = planned.value;
  const version = await writeObject({ format: 1, uploadId: upload.uploadId, parts });
  await objects.remove(UPLOADS_BUCKET, upload.record);
  // The manifest pins these versions: dropping one would leave the object unreadable.
  const named = new Set((options.bugs?.completeLosesPart === true ? parts.slice(0, -1) : parts).map((p) => p.key));
  return ok({ version, parts, dropUnnamed: () => dropUploadParts(objects, upload.uploadId, (key) => !named.has(key)) });
}

/**
 * AbortMultipartUpload after the upload was found: every part goes, then the record. A part that could not be
 * dropped fails the abort with the record still there, so the upload stays listed and can be aborted again.
 */
export async function abortUpload(objects: UploadObjects, upload: UploadRef): Promise<Result<DropReport, DropReport>> {
  const report = await dropUploadParts(objects, upload.uploadId, () => true);
  if (report.failure !== undefined) return err(report);
  await objects.remove(UPLOADS_BUCKET, upload.record);
  return ok(report);
}

/**
 * The version stamped `replacedBy` replaced `old` (a PUT, a copy, a completed upload, a delete): when `old` was a
 * multipart object older than it, its parts are garbage and are dropped. A head that saw a concurrent newer write, or the new version itself, drops
 * nothing. `readManifest` reads `old`'s manifest (its body).
 */
export async function collectReplacedUpload(objects: UploadObjects, old: ObjectVersion | null, replacedBy: VersionStamp, readManifest: (version: ObjectVersion) => Promise<Manifest>): Promise<DropReport> {
  if (!old || old.deleted || old.stamp >= replacedBy || !isManifestObject(old)) return { dropped: 0 };
  const manifest = await readManifest(old);
  return dropUploadParts(objects, manifest.uploadId, () => true);
}

/** Drops the parts of an upload that `shouldDrop` picks, page by page; stops at the first failure and says why. */
export async function dropUploadParts(objects: UploadObjects, uploadId: string, shouldDrop: (partKey: string) => boolean): Promise<DropReport> {
  let dropped = 0;
  let after = "";
  try {
    for (;;) {
      const page = await objects.list(PARTS_BUCKET, `${uploadId}/`, after, DROP_PAGE_KEYS);
      for (const v of page.versions) {
        assert(v.key.startsWith(`${uploadId}/`), () => `part ${v.key} listed for upload ${uploadId}`);
        if (v.deleted || !shouldDrop(v.key)) continue;
        await objects.remove(PARTS_BUCKET, v.key);
        dropped += 1;
      }
      const last = page.versions[page.versions.length - 1];
      if (!page.truncated || last === undefined) return { dropped };
      after = last.key;
    }
  } catch (error) {
    if (error instanceof AssertionError) throw error;
    return { dropped, failure: error instanceof Error ? error.message : String(error) };
  }
}
