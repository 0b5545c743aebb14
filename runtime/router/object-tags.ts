// Where an object version's tags live. Tags given when the object is written (x-amz-tagging on PutObject or
// CreateMultipartUpload) are stored with the version, in its metadata, and replicated with it. Tags set later
// (PutObjectTagging) must not rewrite a video's bytes, so they go into a small record in the system bucket
// that names the version it is for: a newer version of the object (a PUT replacing it) is not covered by it
// and has its own tags, as in S3, where a new version starts with the tags it was written with.
// Guarantees: tagsOf returns the tags of exactly the version given; a record for another version is ignored.
// x-amz-tagging-count costs an untagged GET nothing: the count of tags written with a version is in its
// metadata, and a tag record is read (in parallel with the version's metadata) only in a bucket whose settings
// say some object there had tags set later (BucketSettings.tagsSetLater, set before the first record is
// written). Another router sees that flag within its bucket cache's freshness (2 s); until then it counts the
// tags written with the version.
import type { ObjectVersion } from "../../core/object-version.ts";
import { type BucketRegistry, SYSTEM_BUCKET } from "./buckets.ts";
import { putBytes } from "./small-object.ts";
import type { ObjectService } from "./object-service.ts";
import { type Tag, decodeTags, encodeTags, parseTaggingHeader } from "../s3/tagging.ts";

/** The tags written with a version (user metadata, internal: never sent back as a header). */
export const TAGGING_META = "x-ringstore-tagging";
const TAGGED_STAMP_META = "x-ringstore-tagged-stamp";
const RECORD_PREFIX = "tags/";

const recordKey = (version: Pick<ObjectVersion, "bucket" | "key">) => `${RECORD_PREFIX}${version.bucket}/${version.key}`;

/** The metadata entry for an `x-amz-tagging` header (none when absent); InvalidTag when it breaks S3's limits. */
export function taggingMetaFrom(header: string): Record<string, string> {
  if (!header) return {};
  return { [TAGGING_META]: encodeTags(parseTaggingHeader(header)) };
}

export async function tagsOf(objects: ObjectService, version: ObjectVersion): Promise<readonly Tag[]> {
  return tagsFrom(await objects.head(SYSTEM_BUCKET, recordKey(version)), version);
}

/** The tags of `version`: its tag record's when that record names this very version, else those written with it. */
function tagsFrom(record: ObjectVersion | null, version: ObjectVersion): readonly Tag[] {
  if (record && !record.deleted && record.userMeta[TAGGED_STAMP_META] === version.stamp) return decodeTags(record.userMeta[TAGGING_META]);
  return decodeTags(version.userMeta[TAGGING_META]);
}

/**
 * For a GET or HEAD of `key`: started before the version's metadata is read, so that a tag record, when the
 * bucket may hold one, is read in parallel with it. Resolves the number of tags of the version given.
 */
export function startTagCount(objects: ObjectService, bucket: string, key: string, tagsSetLater: boolean, signal?: AbortSignal): (version: ObjectVersion) => Promise<number> {
  // A failed record read is not the GET's failure: it is awaited only once the version is known.
  const record = tagsSetLater ? objects.head(SYSTEM_BUCKET, recordKey({ bucket, key }), signal).then((r) => ({ ok: true as const, r }), (error: unknown) => ({ ok: false as const, error })) : undefined;
  return async (version) => {
    if (record === undefined) return tagsFrom(null, version).length;
    const read = await record;
    if (!read.ok) throw read.error;
    return tagsFrom(read.r, version).length;
  };
}

/**
 * Replaces the tags of exactly `version` (an empty set deletes them). The bucket is marked first, so that any
 * router that reads the record's absence as "no later tags" has not yet seen the mark (startTagCount).
 */
export async function setTags(objects: ObjectService, buckets: BucketRegistry, version: ObjectVersion, tags: readonly Tag[]): Promise<void> {
  if ((await buckets.require(version.bucket)).settings.tagsSetLater !== true) await buckets.updateSettings(version.bucket, (settings) => ({ ...settings, tagsSetLater: true }));
  await putBytes(objects, { bucket: SYSTEM_BUCKET, key: recordKey(version), contentType: "application/octet-stream", metadata: { [TAGGED_STAMP_META]: version.stamp, [TAGGING_META]: encodeTags(tags) } }, Buffer.alloc(0));
}
