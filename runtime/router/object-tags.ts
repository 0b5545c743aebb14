// Where an object version's tags live. Tags given when the object is written (x-amz-tagging on PutObject or
// CreateMultipartUpload) are stored with the version, in its metadata, and replicated with it. Tags set later
// (PutObjectTagging) must not rewrite a video's bytes, so they go into a small record in the system bucket
// that names the version it is for: a newer version of the object (a PUT replacing it) is not covered by it
// and has its own tags, as in S3, where a new version starts with the tags it was written with.
// Guarantees: tagsOf returns the tags of exactly the version given; a record for another version is ignored.
import type { ObjectVersion } from "../../core/object-version.ts";
import { SYSTEM_BUCKET } from "./buckets.ts";
import { putBytes } from "./small-object.ts";
import type { ObjectService } from "./object-service.ts";
import { type Tag, decodeTags, encodeTags, parseTaggingHeader } from "../s3/tagging.ts";

/** The tags written with a version (user metadata, internal: never sent back as a header). */
export const TAGGING_META = "x-ringstore-tagging";
const TAGGED_STAMP_META = "x-ringstore-tagged-stamp";
const RECORD_PREFIX = "tags/";

const recordKey = (version: ObjectVersion) => `${RECORD_PREFIX}${version.bucket}/${version.key}`;

/** The metadata entry for an `x-amz-tagging` header (none when absent); InvalidTag when it breaks S3's limits. */
export function taggingMetaFrom(header: string): Record<string, string> {
  if (!header) return {};
  return { [TAGGING_META]: encodeTags(parseTaggingHeader(header)) };
}

export async function tagsOf(objects: ObjectService, version: ObjectVersion): Promise<readonly Tag[]> {
  const record = await objects.head(SYSTEM_BUCKET, recordKey(version));
  if (record && !record.deleted && record.userMeta[TAGGED_STAMP_META] === version.stamp) return decodeTags(record.userMeta[TAGGING_META]);
  return decodeTags(version.userMeta[TAGGING_META]);
}

/** Replaces the tags of exactly `version` (an empty set deletes them). */
export async function setTags(objects: ObjectService, version: ObjectVersion, tags: readonly Tag[]): Promise<void> {
  await putBytes(objects, { bucket: SYSTEM_BUCKET, key: recordKey(version), contentType: "application/octet-stream", metadata: { [TAGGED_STAMP_META]: version.stamp, [TAGGING_META]: encodeTags(tags) } }, Buffer.alloc(0));
}
