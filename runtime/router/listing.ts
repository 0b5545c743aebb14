// ListBuckets and ListObjects (v1 and v2) over the merged node listings.
// Guarantees: keys come in order, each at most once, tombstoned keys hidden; with a delimiter, keys under
// a common prefix fold into it and the listing skips past them without reading them one by one; a page
// holds at most max-keys entries (keys plus prefixes) and never more than 1000. The page itself is cut
// by core/listing.ts (listPage), which the simulator runs too; this file maps S3's parameters onto it.
import type Koa from "koa";
import { LIST_PAGE_KEYS_MAX, type ListCursor, type MergedListingRead, cursorOfMarker, listPage } from "../../core/listing.ts";
import { parseStamp } from "../../core/version.ts";
import { S3Error } from "../s3/errors.ts";
import { type EncodingType, type ObjectEntry, renderListAllMyBuckets, renderListObjectsV1, renderListObjectsV2, renderListVersions } from "../s3/xml.ts";
import type { BucketInfo } from "./buckets.ts";
import { logicalSize } from "../../core/manifest.ts";
import type { ObjectService } from "./object-service.ts";

export const OWNER = { id: "ringstore", displayName: "ringstore" };

export function renderListBuckets(buckets: readonly BucketInfo[]): string {
  return renderListAllMyBuckets({ owner: OWNER, buckets: buckets.map((b) => ({ name: b.name, creationDateMs: b.createdMs })) });
}

interface S3Page {
  readonly contents: ObjectEntry[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  readonly next: ListCursor | undefined;
}

interface PageOptions {
  readonly prefix: string;
  readonly delimiter: string;
  readonly start: ListCursor;
  /** As the client asked (0 allowed); pages hold at most 1000. */
  readonly maxKeys: number;
}

/** One page in S3's terms: the core page algorithm over the merged node listings. */
async function s3Page(objects: ObjectService, bucket: string, options: PageOptions, signal: AbortSignal | undefined): Promise<S3Page> {
  if (options.maxKeys === 0) return { contents: [], commonPrefixes: [], truncated: false, next: undefined };
  const fetch: MergedListingRead = (after, limit) => objects.list(bucket, options.prefix, after, limit, signal, options.delimiter || undefined);
  const maxKeys = Math.min(options.maxKeys, LIST_PAGE_KEYS_MAX);
  const page = await listPage(fetch, { prefix: options.prefix, delimiter: options.delimiter, start: options.start, maxKeys }, signal);
  const contents: ObjectEntry[] = [];
  const commonPrefixes: string[] = [];
  for (const entry of page.entries) {
    if (entry.kind === "prefix") commonPrefixes.push(entry.prefix);
    else contents.push({ key: entry.version.key, lastModifiedMs: parseStamp(entry.version.stamp)?.physicalMs ?? 0, etag: entry.version.etag, size: logicalSize(entry.version), owner: OWNER });
  }
  return { contents, commonPrefixes, truncated: page.truncated, next: page.next };
}

/** What NextMarker / NextKeyMarker show: the page's last key or common prefix. */
function markerOf(cursor: ListCursor): string {
  switch (cursor.kind) {
    case "start":
      return "";
    case "after-key":
      return cursor.key;
    case "after-prefix":
      return cursor.prefix;
  }
}

// A v2 continuation token names a cursor: "k:" + key or "p:" + prefix, base64url. Opaque to clients.
function encodeToken(cursor: ListCursor): string {
  return Buffer.from(cursor.kind === "after-prefix" ? `p:${cursor.prefix}` : `k:${markerOf(cursor)}`).toString("base64url");
}

function decodeToken(token: string): ListCursor {
  const decoded = Buffer.from(token, "base64url").toString("utf8");
  if (decoded.startsWith("k:")) return { kind: "after-key", key: decoded.slice(2) };
  if (decoded.startsWith("p:") && decoded.length > 2) return { kind: "after-prefix", prefix: decoded.slice(2) };
  throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { extra: { ArgumentName: "continuation-token" } });
}

function commonOptions(q: URLSearchParams): { prefix: string; delimiter: string; maxKeys: number; encodingType: EncodingType } {
  const maxKeysText = q.get("max-keys");
  const maxKeys = maxKeysText === null ? LIST_PAGE_KEYS_MAX : Number(maxKeysText);
  if (!/^\d{1,10}$/.test(maxKeysText ?? "0") || !Number.isSafeInteger(maxKeys)) throw new S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", { extra: { ArgumentName: "max-keys", ArgumentValue: maxKeysText ?? "" } });
  return { prefix: q.get("prefix") ?? "", delimiter: q.get("delimiter") ?? "", maxKeys, encodingType: encodingOf(q.get("encoding-type")) };
}

export async function renderListObjects(ctx: Koa.Context, bucket: string, q: URLSearchParams, objects: ObjectService, signal?: AbortSignal): Promise<void> {
  const { prefix, delimiter, maxKeys, encodingType } = commonOptions(q);
  ctx.type = "application/xml";
  if (q.get("list-type") === "2") {
    const token = q.get("continuation-token") ?? undefined;
    const startAfter = q.get("start-after") ?? undefined;
    const start = token !== undefined ? decodeToken(token) : cursorOfMarker(startAfter ?? "", prefix, delimiter);
    const page = await s3Page(objects, bucket, { prefix, delimiter, start, maxKeys }, signal);
    const fetchOwner = q.get("fetch-owner") === "true";
    ctx.body = renderListObjectsV2({
      bucket,
      prefix,
      maxKeys,
      ...(delimiter ? { delimiter } : {}),
      isTruncated: page.truncated,
      ...(token !== undefined ? { continuationToken: token } : {}),
      ...(page.next !== undefined ? { nextContinuationToken: encodeToken(page.next) } : {}),
      ...(startAfter !== undefined ? { startAfter } : {}),
      contents: page.contents,
      commonPrefixes: page.commonPrefixes,
      encodingType,
      fetchOwner,
    });
    return;
  }
  const marker = q.get("marker") ?? "";
  const page = await s3Page(objects, bucket, { prefix, delimiter, start: cursorOfMarker(marker, prefix, delimiter), maxKeys }, signal);
  ctx.body = renderListObjectsV1({
    bucket,
    prefix,
    marker,
    maxKeys,
    ...(delimiter ? { delimiter } : {}),
    isTruncated: page.truncated,
    // S3 sends NextMarker only with a delimiter; without one clients page from the last key.
    ...(delimiter && page.next !== undefined ? { nextMarker: markerOf(page.next) } : {}),
    contents: page.contents,
    commonPrefixes: page.commonPrefixes,
    encodingType,
  });
}

/** ListObjectVersions of a bucket that never had versioning: each live key's one ("null") version. */
export async function renderListObjectVersions(ctx: Koa.Context, bucket: string, q: URLSearchParams, objects: ObjectService, signal?: AbortSignal): Promise<void> {
  const { prefix, delimiter, maxKeys, encodingType } = commonOptions(q);
  const keyMarker = q.get("key-marker") ?? "";
  const versionIdMarker = q.get("version-id-marker") ?? "";
  if (versionIdMarker !== "" && keyMarker === "") throw new S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", { extra: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker } });
  if (versionIdMarker !== "" && versionIdMarker !== "null") throw new S3Error("InvalidArgument", "Invalid version id specified", { extra: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker } });
  const page = await s3Page(objects, bucket, { prefix, delimiter, start: cursorOfMarker(keyMarker, prefix, delimiter), maxKeys }, signal);
  ctx.type = "application/xml";
  ctx.body = renderListVersions({
    bucket,
    prefix,
    keyMarker,
    versionIdMarker,
    maxKeys,
    ...(delimiter ? { delimiter } : {}),
    isTruncated: page.truncated,
    ...(page.next !== undefined ? { nextKeyMarker: markerOf(page.next) } : {}),
    versions: page.contents,
    commonPrefixes: page.commonPrefixes,
    encodingType,
  });
}

export function encodingOf(value: string | null): EncodingType {
  if (value === null) return undefined;
  if (value === "url") return "url";
  throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", { extra: { ArgumentName: "encoding-type", ArgumentValue: value } });
}
