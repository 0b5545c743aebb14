// Where a multipart upload's record lives in the reserved uploads bucket, and what its upload id says.
// Guarantees: records are named `~/` + bucket + `/` + key + NUL + upload id, so the records of one bucket
// list in (key, upload id) order, and an upload id sorts by the time its upload was initiated (it starts
// with that time in fixed-width hex): a ListMultipartUploads page is one listing read that starts at its
// markers and stops after max-uploads + 1 records, whatever the number of uploads in progress.
// Records written before this layout (`bucket/uploadId`, ids of 24 characters) stay readable under their
// old name for every call that names the upload; they are not listed, and expire as before.
// Assumes: bucket names never contain `/` or `~` (runtime/s3/names.ts); upload ids never contain NUL.
import { assert } from "../../core/assert.ts";

const LAYOUT_MARK = "~/";
const NAME_END = "\0";
/** Sorts after every upload id of a key (ids are ASCII): the cursor "after every upload of this key". */
export const AFTER_EVERY_UPLOAD_ID = String.fromCodePoint(0x10ffff);
const TIME_HEX_CHARS = 12;
const LEGACY_ID_CHARS = 24;

/** A new upload id: the initiation time, then 120 random bits (base64url), 32 characters. */
export function newUploadId(nowMs: number, random: Buffer): string {
  assert(Number.isSafeInteger(nowMs) && nowMs >= 0 && nowMs < 16 ** TIME_HEX_CHARS, () => `nowMs ${nowMs}`);
  assert(random.length === 15, () => `random of ${random.length} bytes`);
  return nowMs.toString(16).padStart(TIME_HEX_CHARS, "0") + random.toString("base64url");
}

/** Where the records of one bucket's uploads begin: the listing prefix for keys starting with `keyPrefix`. */
export const uploadRecordsPrefix = (bucket: string, keyPrefix = ""): string => `${LAYOUT_MARK}${bucket}/${keyPrefix}`;

/** A name in the (key, upload id) layout: a record's, or a listing cursor's (`uploadId` AFTER_EVERY_UPLOAD_ID). */
export const uploadRecordNameByKey = (bucket: string, key: string, uploadId: string): string => `${uploadRecordsPrefix(bucket, key)}${NAME_END}${uploadId}`;

/** The record of an upload; ids of the old layout keep their old record. */
export function uploadRecordName(bucket: string, key: string, uploadId: string): string {
  return uploadId.length === LEGACY_ID_CHARS ? `${bucket}/${uploadId}` : uploadRecordNameByKey(bucket, key, uploadId);
}

/** Where the folding part of a record's name ends (the object key's end): only the key folds under a delimiter. */
export function uploadRecordNameEnd(record: string): number {
  const at = record.lastIndexOf(NAME_END);
  return at < 0 ? record.length : at;
}

/** The bucket and upload id a record names, in either layout; undefined for a name that is neither. */
export function parseUploadRecordName(record: string): { bucket: string; uploadId: string } | undefined {
  if (record.startsWith(LAYOUT_MARK)) {
    const slash = record.indexOf("/", LAYOUT_MARK.length);
    const end = record.lastIndexOf(NAME_END);
    if (slash < 0 || end < slash) return undefined;
    return { bucket: record.slice(LAYOUT_MARK.length, slash), uploadId: record.slice(end + 1) };
  }
  const slash = record.indexOf("/");
  if (slash < 0) return undefined;
  return { bucket: record.slice(0, slash), uploadId: record.slice(slash + 1) };
}
