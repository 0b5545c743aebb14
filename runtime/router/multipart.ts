// Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
// ListParts and ListMultipartUploads, on top of the replicated object service.
// Guarantees: each part is stored and replicated like an object (quorum, checksums, streaming); an upload
// exists from its Create until its Complete or Abort; Complete checks every named part against what was
// stored (InvalidPart, EntityTooSmall) and writes one object version whose body is the manifest, so no part
// byte is copied; the parts Complete did not name, and all parts of an aborted upload, are deleted.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type Koa from "koa";
import { assert } from "../../core/assert.ts";
import { type ListCursor, type MergedListingRead, cursorOfMarker, listPage } from "../../core/listing.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { type DropReport, PART_BYTES_MIN, abortUpload, collectReplacedUpload, completeUpload } from "../../core/multipart.ts";
import { parseStamp } from "../../core/version.ts";
import type { RuntimeLog } from "../log.ts";
import { S3Error } from "../s3/errors.ts";
import { type PayloadPlan, collectBody, decodePlanned } from "../s3/payload.ts";
import type { SigV4Auth } from "../s3/sigv4.ts";
import { PART_NUMBER_MAX, parseCompleteMultipartUpload, renderCompleteMultipartUpload, renderInitiateMultipartUpload, renderListMultipartUploads, renderListParts, type UploadEntry } from "../s3/xml.ts";
import { checkWriteConditions } from "./conditions.ts";
import { OWNER, encodingOf } from "./listing.ts";
import { taggingMetaFrom } from "./object-tags.ts";
import { putBytes } from "./small-object.ts";
import { LOGICAL_SIZE_META, MANIFEST_META, PARTS_BUCKET, UPLOAD_ID_META, UPLOADS_BUCKET, parseManifest, partKey } from "../../core/manifest.ts";
import { MANIFEST_BYTES_MAX } from "./manifest-reader.ts";
import type { ObjectService } from "./object-service.ts";
import { metadataFrom, readPutBody } from "./request-body.ts";
import { AFTER_EVERY_UPLOAD_ID, newUploadId, parseUploadRecordName, uploadRecordName, uploadRecordNameByKey, uploadRecordNameEnd, uploadRecordsPrefix } from "./upload-records.ts";

export const PART_BYTES_MAX = 5 * 1024 ** 3;
const COMPLETE_BODY_BYTES_MAX = 4 * 1024 * 1024;
const UPLOAD_KEY_META = "x-ringstore-key";
const UPLOAD_CONTENT_TYPE_META = "x-ringstore-content-type";
const UPLOAD_OBJECT_META = "x-ringstore-object-meta";

interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
  readonly initiatedMs: number;
  /** The name of its record in UPLOADS_BUCKET (runtime/router/upload-records.ts). */
  readonly record: string;
}

export class Multipart {
  constructor(
    private readonly objects: ObjectService,
    private readonly log: RuntimeLog,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async create(ctx: Koa.Context, bucket: string, key: string): Promise<void> {
    const uploadId = newUploadId(this.nowMs(), randomBytes(15));
    const metadata = { ...metadataFrom(ctx.req), ...taggingMetaFrom(ctx.get("x-amz-tagging")) };
    const contentType = ctx.get("content-type") || "binary/octet-stream";
    await putBytes(
      this.objects,
      {
        bucket: UPLOADS_BUCKET,
        key: uploadRecordName(bucket, key, uploadId),
        contentType: "application/octet-stream",
        metadata: { [UPLOAD_KEY_META]: key, [UPLOAD_CONTENT_TYPE_META]: contentType, [UPLOAD_OBJECT_META]: JSON.stringify(metadata) },
      },
      Buffer.alloc(0),
    );
    const algorithm = ctx.get("x-amz-checksum-algorithm").toUpperCase();
    ctx.type = "application/xml";
    ctx.body = renderInitiateMultipartUpload({ bucket, key, uploadId, ...(algorithm === "CRC32" ? { checksumAlgorithm: "CRC32" as const } : {}) });
  }

  private async requireUpload(bucket: string, key: string, uploadId: string): Promise<Upload> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(uploadId)) throw new S3Error("NoSuchUpload", undefined, { extra: { UploadId: uploadId } });
    const name = uploadRecordName(bucket, key, uploadId);
    const record = await this.objects.head(UPLOADS_BUCKET, name);
    if (!record || record.deleted || record.userMeta[UPLOAD_KEY_META] !== key) throw new S3Error("NoSuchUpload", undefined, { extra: { UploadId: uploadId } });
    return {
      bucket,
      key,
      uploadId,
      contentType: record.userMeta[UPLOAD_CONTENT_TYPE_META] ?? "binary/octet-stream",
      metadata: JSON.parse(record.userMeta[UPLOAD_OBJECT_META] ?? "{}") as Record<string, string>,
      initiatedMs: parseStamp(record.stamp)?.physicalMs ?? 0,
      record: name,
    };
  }

  /** Where part `partNumberText` of an upload is stored; InvalidArgument or NoSuchUpload when there is no such part slot. */
  async partTarget(bucket: string, key: string, uploadId: string, partNumberText: string): Promise<{ bucket: string; key: string }> {
    const partNumber = Number(partNumberText);
    if (!/^\d{1,5}$/.test(partNumberText) || partNumber < 1 || partNumber > PART_NUMBER_MAX) {
      throw new S3Error("InvalidArgument", `Part number must be an integer between 1 and ${PART_NUMBER_MAX}, inclusive`, { extra: { ArgumentName: "partNumber", ArgumentValue: partNumberText } });
    }
    await this.requireUpload(bucket, key, uploadId);
    return { bucket: PARTS_BUCKET, key: partKey(uploadId, partNumber) };
  }

  async uploadPart(ctx: Koa.Context, bucket: string, key: string, uploadId: string, partNumberText: string, payload: PayloadPlan): Promise<void> {
    const target = await this.partTarget(bucket, key, uploadId, partNumberText);
    const input = readPutBody(ctx.req, payload, { ...target, bytesMax: PART_BYTES_MAX });
    const version = await this.objects.put({ ...input.put, contentType: "application/octet-stream" });
    const checks = await input.checks;
    ctx.set("ETag", `"${version.etag}"`);
    for (const [name, value] of Object.entries(checks.responseHeaders)) ctx.set(name, value);
    ctx.status = 200;
    ctx.body = "";
    ctx.remove("Content-Type");
  }

  async complete(ctx: Koa.Context, bucket: string, key: string, uploadId: string, payload: PayloadPlan): Promise<void> {
    const found = await this.requireUpload(bucket, key, uploadId).then(
      (open) => ({ state: "open" as const, upload: open }),
      async (error: unknown) => {
        // Clients retry a Complete that timed out: if this upload already made the object, answer as S3 does.
        const made = await this.objects.head(bucket, key);
        if (made && !made.deleted && made.userMeta[UPLOAD_ID_META] === uploadId) return { state: "completed" as const, object: made };
        throw error;
      },
    );
    if (found.state === "completed") {
      await readSmallBody(ctx.req, payload, COMPLETE_BODY_BYTES_MAX);
      ctx.type = "application/xml";
      ctx.body = renderCompleteMultipartUpload({ location: `/${bucket}/${key}`, bucket, key, etag: found.object.etag });
      return;
    }
    const upload = found.upload;
    await checkWriteConditions(ctx, () => this.objects.head(bucket, key), key);
    const requested = parseCompleteMultipartUpload(await readSmallBody(ctx.req, payload, COMPLETE_BODY_BYTES_MAX));
    if (!requested.ok) throw requested.error;
    const previous = this.previousVersion(bucket, key);
    const completed = await completeUpload(this.objects, upload, requested.value.parts, (manifest) => {
      const etag = `${createHash("md5").update(Buffer.concat(manifest.parts.map((p) => Buffer.from(p.etag, "hex")))).digest("hex")}-${manifest.parts.length}`;
      const totalSize = manifest.parts.reduce((sum, p) => sum + p.size, 0);
      return putBytes(
        this.objects,
        { bucket, key, contentType: upload.contentType, metadata: { ...upload.metadata, [MANIFEST_META]: "1", [LOGICAL_SIZE_META]: String(totalSize), [UPLOAD_ID_META]: uploadId }, etag },
        Buffer.from(JSON.stringify(manifest)),
      );
    });
    if (!completed.ok) {
      const refused = completed.error;
      if (refused.kind === "invalid-part") throw new S3Error("InvalidPart", undefined, { extra: { UploadId: uploadId, PartNumber: String(refused.partNumber), ETag: refused.etag } });
      throw new S3Error("EntityTooSmall", undefined, { extra: { UploadId: uploadId, PartNumber: String(refused.partNumber), ProposedSize: String(refused.size), MinSizeAllowed: String(PART_BYTES_MIN) } });
    }
    void completed.value.dropUnnamed().then((report) => this.logDropped(uploadId, "complete", report));
    this.collectReplaced(previous, completed.value.version);
    const etag = completed.value.version.etag;
    ctx.type = "application/xml";
    ctx.body = renderCompleteMultipartUpload({ location: `/${bucket}/${key}`, bucket, key, etag });
  }

  async abort(ctx: Koa.Context, bucket: string, key: string, uploadId: string): Promise<void> {
    const upload = await this.requireUpload(bucket, key, uploadId);
    const aborted = await abortUpload(this.objects, upload);
    this.logDropped(uploadId, "abort", aborted.ok ? aborted.value : aborted.error);
    // The record stays: the upload is still listed, a retried abort (or expiry) drops what is left.
    if (!aborted.ok) throw new S3Error("ServiceUnavailable", "Not every part of the upload could be deleted; retry the abort");
    ctx.status = 204;
  }

  /**
   * The version a write is about to replace (or a delete to remove): ask before writing, in parallel with the
   * write, and hand the answer to collectReplaced. A failed look-up only means no clean-up (logged).
   */
  previousVersion(bucket: string, key: string): Promise<ObjectVersion | null> {
    return this.objects.head(bucket, key).catch((error: unknown) => {
      this.log.warn("multipart.previous-unknown", { bucket, key, cause: error instanceof Error ? error.message : String(error) });
      return null;
    });
  }

  /**
   * `by` replaced `key` (a PUT, a copy, a completed upload, a delete): if what it replaced was a multipart
   * object, its parts are garbage now and are dropped in the background. Only a manifest older than `by` is
   * collected: a head that saw a concurrent newer write, or `by` itself, leaves everything in place.
   */
  collectReplaced(previous: Promise<ObjectVersion | null>, by: ObjectVersion): void {
    void previous.then(async (old) => {
      try {
        const report = await collectReplacedUpload(this.objects, old, by.stamp, async (v) => parseManifest((await collectBody(await this.objects.open(v), MANIFEST_BYTES_MAX)).toString("utf8")));
        if (report.failure !== undefined) this.log.warn("multipart.collect-replaced-failed", { bucket: by.bucket, key: by.key, stamp: old?.stamp, dropped: report.dropped, cause: report.failure });
      } catch (error) {
        this.log.warn("multipart.collect-replaced-failed", { bucket: by.bucket, key: by.key, stamp: old?.stamp, cause: error instanceof Error ? error.message : String(error) });
      }
    });
  }

  /**
   * Aborts every upload in progress whose age passed what `ageMaxMsFor` allows for its bucket and key: its
   * record goes and its parts with it. Returns how many were aborted. Work stops when `signal` aborts.
   */
  async expireUploads(nowMs: number, ageMaxMsFor: (bucket: string, key: string) => Promise<number>, signal?: AbortSignal): Promise<number> {
    let aborted = 0;
    let after = "";
    for (;;) {
      signal?.throwIfAborted();
      const page = await this.objects.list(UPLOADS_BUCKET, "", after, 1000, signal);
      for (const v of page.versions) {
        const key = v.userMeta[UPLOAD_KEY_META];
        const named = parseUploadRecordName(v.key);
        if (v.deleted || key === undefined || named === undefined) continue;
        const { bucket, uploadId } = named;
        const ageMs = nowMs - (parseStamp(v.stamp)?.physicalMs ?? nowMs);
        if (ageMs <= (await ageMaxMsFor(bucket, key))) continue;
        const expired = await abortUpload(this.objects, { uploadId, record: v.key });
        this.logDropped(uploadId, "expire", expired.ok ? expired.value : expired.error);
        if (!expired.ok) continue; // the record stays: the next pass tries again
        this.log.info("multipart.upload-expired", { bucket, key, uploadId, ageMs });
        aborted += 1;
      }
      if (!page.truncated || page.versions.length === 0) return aborted;
      after = page.versions[page.versions.length - 1]!.key;
    }
  }

  /** One log line when dropping an upload's parts stopped early: what is left is garbage until a retry. */
  private logDropped(uploadId: string, after: "complete" | "abort" | "expire", report: DropReport): void {
    if (report.failure !== undefined) this.log.warn("multipart.drop-parts-failed", { uploadId, after, dropped: report.dropped, cause: report.failure });
  }

  async listParts(ctx: Koa.Context, bucket: string, key: string, uploadId: string, q: URLSearchParams): Promise<void> {
    await this.requireUpload(bucket, key, uploadId);
    const marker = Number(q.get("part-number-marker") ?? "0");
    const maxParts = Math.min(Number(q.get("max-parts") ?? "1000"), 1000);
    if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(maxParts) || maxParts < 0) throw new S3Error("InvalidArgument");
    const page = await this.objects.list(PARTS_BUCKET, `${uploadId}/`, marker > 0 ? partKey(uploadId, marker) : "", maxParts + 1);
    const live = page.versions.filter((v) => !v.deleted);
    const shown = live.slice(0, maxParts);
    const truncated = live.length > maxParts || page.truncated;
    const last = shown[shown.length - 1];
    ctx.type = "application/xml";
    ctx.body = renderListParts({
      bucket,
      key,
      uploadId,
      partNumberMarker: marker,
      nextPartNumberMarker: last ? Number(last.key.slice(uploadId.length + 1)) : 0,
      maxParts,
      isTruncated: truncated,
      parts: shown.map((v) => ({ partNumber: Number(v.key.slice(uploadId.length + 1)), lastModifiedMs: parseStamp(v.stamp)?.physicalMs ?? 0, etag: v.etag, size: v.size })),
      initiator: OWNER,
      owner: OWNER,
    });
  }

  /**
   * One page of a bucket's uploads in progress, in (key, initiation) order, as S3 pages them: one listing of
   * the records from the markers on, cut by core/listing.ts listPage (prefix, delimiter folding by key), so a
   * page costs O(nodes × max-uploads) records read, never a walk of every upload in the bucket.
   */
  async listUploads(ctx: Koa.Context, bucket: string, q: URLSearchParams, signal?: AbortSignal): Promise<void> {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const encodingType = encodingOf(q.get("encoding-type"));
    const maxUploadsText = q.get("max-uploads") ?? "1000";
    if (!/^\d{1,10}$/.test(maxUploadsText)) throw new S3Error("InvalidArgument", "Provided max-uploads not an integer or within integer range", { extra: { ArgumentName: "max-uploads", ArgumentValue: maxUploadsText } });
    const maxUploads = Math.min(Number(maxUploadsText), 1000);
    const keyMarker = q.get("key-marker") ?? "";
    // S3 ignores upload-id-marker without key-marker.
    const uploadIdMarker = keyMarker === "" ? "" : (q.get("upload-id-marker") ?? "");
    const base = uploadRecordsPrefix(bucket);
    const recordsPrefix = uploadRecordsPrefix(bucket, prefix);
    const fetch: MergedListingRead = (after, limit) => this.objects.list(UPLOADS_BUCKET, recordsPrefix, after, limit, signal);
    const page =
      maxUploads === 0
        ? { entries: [], truncated: false, next: undefined }
        : await listPage(fetch, { prefix: recordsPrefix, delimiter, start: uploadsCursor(bucket, keyMarker, uploadIdMarker, prefix, delimiter), maxKeys: maxUploads, nameEnd: uploadRecordNameEnd }, signal);
    const uploads: UploadEntry[] = [];
    const commonPrefixes: string[] = [];
    for (const entry of page.entries) {
      if (entry.kind === "prefix") {
        commonPrefixes.push(entry.prefix.slice(base.length));
        continue;
      }
      const v = entry.version;
      const named = parseUploadRecordName(v.key);
      const key = v.userMeta[UPLOAD_KEY_META];
      assert(named !== undefined && key !== undefined, () => `upload record ${JSON.stringify(v.key)} names no upload`);
      uploads.push({ key, uploadId: named.uploadId, initiatedMs: parseStamp(v.stamp)?.physicalMs ?? 0, initiator: OWNER, owner: OWNER });
    }
    // S3: the next page starts after the last upload, or after the last common prefix (with no upload id).
    const lastEntry = page.entries[page.entries.length - 1];
    const next = !page.truncated || lastEntry === undefined ? {} : lastEntry.kind === "prefix" ? { nextKeyMarker: lastEntry.prefix.slice(base.length) } : { nextKeyMarker: uploads[uploads.length - 1]!.key, nextUploadIdMarker: uploads[uploads.length - 1]!.uploadId };
    ctx.type = "application/xml";
    ctx.body = renderListMultipartUploads({
      bucket,
      keyMarker,
      uploadIdMarker,
      ...next,
      ...(delimiter ? { delimiter } : {}),
      prefix,
      maxUploads,
      isTruncated: page.truncated,
      uploads,
      commonPrefixes,
      encodingType,
    });
  }
}

/**
 * Where a page of upload records starts: after the marker pair; with only key-marker, after every upload of
 * that key; a key-marker that is a common prefix of this listing skips everything under it.
 */
function uploadsCursor(bucket: string, keyMarker: string, uploadIdMarker: string, prefix: string, delimiter: string): ListCursor {
  if (keyMarker === "") return { kind: "start" };
  const cursor = cursorOfMarker(uploadRecordsPrefix(bucket, keyMarker), uploadRecordsPrefix(bucket, prefix), delimiter);
  if (cursor.kind !== "after-key") return cursor;
  return { kind: "after-key", key: uploadRecordNameByKey(bucket, keyMarker, uploadIdMarker === "" ? AFTER_EVERY_UPLOAD_ID : uploadIdMarker) };
}

/** A small request body (XML), decoded and verified like any payload, at most `bytesMax` bytes. */
export async function readSmallBody(req: IncomingMessage, payload: PayloadPlan, bytesMax: number): Promise<Buffer> {
  const decoded = decodePlanned(req, payload, { bytesMax });
  if (!decoded.ok) throw decoded.error;
  const bytes = await collectBody(decoded.value.body, bytesMax, "MaxMessageLengthExceeded");
  const result = await decoded.value.result;
  if (!result.ok) throw result.error;
  return bytes;
}
