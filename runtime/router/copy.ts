// CopyObject and UploadPartCopy: a new object (or part) whose bytes are the source object's (or a range of
// them, for a part), streamed through the router once.
// Guarantees: the copy is written like any PUT (W durable copies, checksums verified); its ETag is the MD5
// of its bytes (a copied multipart object becomes a single-part object, as S3 does for copies); metadata
// is the source's (x-amz-metadata-directive COPY) or the request's (REPLACE); tags, independently of the
// metadata, are the source version's (x-amz-tagging-directive COPY, S3's default) or the request's
// x-amz-tagging (REPLACE), stored with the new version like tags given on a PUT.
import type Koa from "koa";
import type { ObjectVersion } from "../../core/object-version.ts";
import { parseStamp } from "../../core/version.ts";
import { S3Error } from "../s3/errors.ts";
import { validateBucketName, validateObjectKey } from "../s3/names.ts";
import { renderCopyObjectResult, renderCopyPartResult } from "../s3/xml.ts";
import type { BucketRegistry } from "./buckets.ts";
import { openManifestObject } from "./manifest-reader.ts";
import { INTERNAL_META_PREFIX, isManifestObject, logicalSize } from "../../core/manifest.ts";
import { DigestPassThrough } from "./digest-stream.ts";
import type { ObjectService } from "./object-service.ts";
import { metadataFrom } from "./request-body.ts";
import type { Multipart } from "./multipart.ts";
import { TAGGING_META, tagsOf } from "./object-tags.ts";
import { encodeTags, parseTaggingHeader } from "../s3/tagging.ts";

export const COPY_BYTES_MAX = 5 * 1024 ** 3;

export function parseCopySource(header: string): { bucket: string; key: string } {
  let text = header;
  try {
    text = decodeURIComponent(header);
  } catch {
    throw new S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", { extra: { ArgumentName: "x-amz-copy-source" } });
  }
  if (text.includes("?versionId=")) throw new S3Error("NotImplemented", "Copying a specific version is not supported: ringstore does not keep object versions.");
  const path = text.startsWith("/") ? text.slice(1) : text;
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", { extra: { ArgumentName: "x-amz-copy-source" } });
  }
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  const problem = validateBucketName(bucket) ?? validateObjectKey(key);
  if (problem) throw problem;
  return { bucket, key };
}

/** The source of a copy, checked (exists, preconditions, size), streaming the wanted bytes through an MD5 and xxhash64 hasher. */
interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly version: ObjectVersion;
  readonly size: number;
  readonly body: DigestPassThrough;
  readonly digests: Promise<{ md5Hex: string; checksum: string; size: number }>;
}

async function openCopySource(ctx: Koa.Context, deps: { objects: ObjectService; buckets: BucketRegistry }, options: { allowRange: boolean }): Promise<CopySource> {
  const source = parseCopySource(ctx.get("x-amz-copy-source"));
  await deps.buckets.require(source.bucket);
  const version = await deps.objects.head(source.bucket, source.key);
  if (!version || version.deleted) throw new S3Error("NoSuchKey", undefined, { extra: { Key: source.key } });
  checkPreconditions(ctx, version);
  const objectSize = logicalSize(version);
  const range = options.allowRange ? parseCopySourceRange(ctx.get("x-amz-copy-source-range"), objectSize) : undefined;
  const size = range ? range.endInclusive - range.start + 1 : objectSize;
  if (size > COPY_BYTES_MAX) throw new S3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120");
  const wanted = range ?? { start: 0, endInclusive: size - 1 };
  const bytes = size === 0 ? undefined : isManifestObject(version) ? await openManifestObject(deps.objects, version, wanted) : await deps.objects.open(version, range);
  const body = new DigestPassThrough({ md5: true });
  if (bytes) {
    bytes.on("error", (error) => body.destroy(error));
    bytes.pipe(body);
  } else body.end();
  return { ...source, version, size, body, digests: body.done.then((d) => ({ md5Hex: d.md5Hex!, checksum: d.checksum, size: d.size })) };
}

/** x-amz-copy-source-range: exactly "bytes=first-last", inside the source (S3 takes nothing looser). */
export function parseCopySourceRange(header: string, size: number): { start: number; endInclusive: number } | undefined {
  if (header === "") return undefined;
  const match = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(header.trim());
  if (!match || Number(match[2]) < Number(match[1])) {
    throw new S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", { extra: { ArgumentName: "x-amz-copy-source-range", ArgumentValue: header } });
  }
  const start = Number(match[1]);
  const endInclusive = Number(match[2]);
  // A well-formed range outside the source is InvalidRange (416), as S3 answers; a malformed one InvalidArgument.
  if (endInclusive >= size) throw new S3Error("InvalidRange", `Range specified is not valid for source object of size: ${size}`, { extra: { RangeRequested: header, ActualObjectSize: String(size) } });
  return { start, endInclusive };
}

export async function copyObject(
  ctx: Koa.Context,
  target: { bucket: string; key: string },
  deps: { objects: ObjectService; buckets: BucketRegistry; replacing: Pick<Multipart, "previousVersion" | "collectReplaced"> },
): Promise<void> {
  const directive = (ctx.get("x-amz-metadata-directive") || "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") throw new S3Error("InvalidArgument", "Unknown metadata directive.");
  const taggingDirective = (ctx.get("x-amz-tagging-directive") || "COPY").toUpperCase();
  if (taggingDirective !== "COPY" && taggingDirective !== "REPLACE") throw new S3Error("InvalidArgument", "Unknown tagging directive.");
  // Checked before any byte moves: tags that break S3's limits refuse the copy (InvalidTag).
  const replacedTags = taggingDirective === "REPLACE" ? parseTaggingHeader(ctx.get("x-amz-tagging")) : undefined;
  const named = parseCopySource(ctx.get("x-amz-copy-source"));
  if (directive === "COPY" && named.bucket === target.bucket && named.key === target.key) {
    throw new S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  const source = await openCopySource(ctx, deps, { allowRange: false });
  const tags = replacedTags ?? (await tagsOf(deps.objects, source.version));
  const metadata = { ...(directive === "COPY" ? publicMetadata(source.version) : metadataFrom(ctx.req)), ...(tags.length > 0 ? { [TAGGING_META]: encodeTags(tags) } : {}) };
  const contentType = directive === "COPY" ? source.version.contentType : ctx.get("content-type") || "binary/octet-stream";
  const previous = deps.replacing.previousVersion(target.bucket, target.key);
  const written = await deps.objects.put({ bucket: target.bucket, key: target.key, contentType, metadata, size: source.size, body: source.body, digests: source.digests });
  deps.replacing.collectReplaced(previous, written);
  ctx.type = "application/xml";
  ctx.body = renderCopyObjectResult({ lastModifiedMs: parseStamp(written.stamp)?.physicalMs ?? 0, etag: written.etag });
}

/** UploadPartCopy: a part whose bytes are (a range of) an existing object's, streamed through the router once. */
export async function uploadPartCopy(
  ctx: Koa.Context,
  target: { bucket: string; key: string; uploadId: string; partNumber: string },
  deps: { objects: ObjectService; buckets: BucketRegistry; multipart: Pick<Multipart, "partTarget"> },
): Promise<void> {
  const part = await deps.multipart.partTarget(target.bucket, target.key, target.uploadId, target.partNumber);
  const source = await openCopySource(ctx, deps, { allowRange: true });
  const written = await deps.objects.put({ ...part, contentType: "application/octet-stream", metadata: {}, size: source.size, body: source.body, digests: source.digests });
  ctx.type = "application/xml";
  ctx.body = renderCopyPartResult({ lastModifiedMs: parseStamp(written.stamp)?.physicalMs ?? 0, etag: written.etag });
}

function publicMetadata(version: ObjectVersion): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(version.userMeta)) {
    if (!name.startsWith(INTERNAL_META_PREFIX) && !name.startsWith("x-amz-checksum-")) out[name] = value;
  }
  return out;
}

function checkPreconditions(ctx: Koa.Context, version: ObjectVersion): void {
  const etag = `"${version.etag}"`;
  const ifMatch = ctx.get("x-amz-copy-source-if-match");
  const ifNoneMatch = ctx.get("x-amz-copy-source-if-none-match");
  if (ifMatch && ifMatch !== etag && ifMatch !== version.etag) throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "x-amz-copy-source-If-Match" } });
  if (ifNoneMatch && (ifNoneMatch === etag || ifNoneMatch === version.etag)) throw new S3Error("PreconditionFailed", undefined, { extra: { Condition: "x-amz-copy-source-If-None-Match" } });
}
