// Objects made by CompleteMultipartUpload: one object version whose body is a manifest of its parts
// (DESIGN.md: Complete copies no bytes). The parts are objects in the reserved bucket PARTS_BUCKET.
// Guarantees: a manifest names each part by its exact version (stamp and checksum), so a GET streams
// exactly the bytes that were completed, in order, whatever happens to the part keys later; the size a
// client sees is the sum of the parts, never the manifest's own size.
import { assert } from "./assert.ts";
import type { ObjectVersion, VersionStamp } from "./object-version.ts";

export const PARTS_BUCKET = "-parts";
export const UPLOADS_BUCKET = "-uploads";
/** userMeta keys for ringstore's own bookkeeping; never sent to clients. */
export const INTERNAL_META_PREFIX = "x-ringstore-";
export const MANIFEST_META = "x-ringstore-manifest";
export const LOGICAL_SIZE_META = "x-ringstore-size";
/** The upload a multipart object was completed from: a retried Complete of it is answered with the object. */
export const UPLOAD_ID_META = "x-ringstore-upload-id";
export const PARTS_COUNT_MAX = 10_000;

export interface ManifestPart {
  readonly partNumber: number;
  readonly key: string;
  readonly stamp: VersionStamp;
  readonly size: number;
  readonly etag: string;
  readonly checksum: string;
}

export interface Manifest {
  readonly format: 1;
  readonly uploadId: string;
  readonly parts: readonly ManifestPart[];
}

export const partKey = (uploadId: string, partNumber: number): string => `${uploadId}/${String(partNumber).padStart(5, "0")}`;

export function isManifestObject(version: ObjectVersion): boolean {
  return version.userMeta[MANIFEST_META] === "1";
}

/** The size a client sees: the parts' total for a multipart object, the stored size otherwise. */
export function logicalSize(version: ObjectVersion): number {
  if (!isManifestObject(version)) return version.size;
  const size = Number(version.userMeta[LOGICAL_SIZE_META]);
  assert(Number.isSafeInteger(size) && size >= 0, `manifest object ${version.bucket}/${version.key} has no valid size`);
  return size;
}

/** A manifest from its stored text (a manifest object's body, as UTF-8). */
export function parseManifest(text: string): Manifest {
  const manifest = JSON.parse(text) as Manifest;
  assert(manifest.format === 1 && Array.isArray(manifest.parts) && manifest.parts.length > 0, "not a ringstore manifest");
  return manifest;
}

export function partVersion(part: ManifestPart): ObjectVersion {
  return { bucket: PARTS_BUCKET, key: part.key, stamp: part.stamp, size: part.size, etag: part.etag, checksum: part.checksum, contentType: "", userMeta: {}, deleted: false };
}

/** The parts a byte range touches, with the range within each part. */
export function partsInRange(parts: readonly ManifestPart[], start: number, endInclusive: number): { part: ManifestPart; start: number; endInclusive: number }[] {
  const out: { part: ManifestPart; start: number; endInclusive: number }[] = [];
  let offset = 0;
  for (const part of parts) {
    const partEnd = offset + part.size - 1;
    if (part.size > 0 && partEnd >= start && offset <= endInclusive) {
      out.push({ part, start: Math.max(start, offset) - offset, endInclusive: Math.min(endInclusive, partEnd) - offset });
    }
    offset += part.size;
    if (offset > endInclusive) break;
  }
  return out;
}
