// ListBuckets and ListObjects (v1 and v2) over the merged node listings.
// Guarantees: keys come in order, each at most once, tombstoned keys hidden; with a delimiter, keys under
// a common prefix fold into it and the listing skips past them without reading them one by one; a page
// holds at most max-keys entries (keys plus prefixes) and never more than 1000.
import type Koa from "koa";
import { compareKeys } from "../../core/key-order.ts";
import { parseStamp } from "../../core/version.ts";
import { S3Error } from "../s3/errors.ts";
import { type EncodingType, type ObjectEntry, renderListAllMyBuckets, renderListObjectsV1, renderListObjectsV2 } from "../s3/xml.ts";
import type { BucketInfo } from "./buckets.ts";
import { logicalSize } from "./manifest.ts";
import type { ObjectService } from "./object-service.ts";

const MAX_KEYS_LIMIT = 1000;
/** The largest code point: a key prefix followed by it sorts after every key with that prefix. */
const AFTER_EVERYTHING = String.fromCodePoint(0x10ffff);
const OWNER = { id: "ringstore", displayName: "ringstore" };

export function renderListBuckets(buckets: readonly BucketInfo[]): string {
  return renderListAllMyBuckets({ owner: OWNER, buckets: buckets.map((b) => ({ name: b.name, creationDateMs: b.createdMs })) });
}

interface ListPage {
  readonly contents: ObjectEntry[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  /** The last key or prefix returned: where the next page starts. */
  readonly last: string | undefined;
}

export async function listPage(objects: ObjectService, bucket: string, options: { prefix: string; delimiter: string; after: string; maxKeys: number }): Promise<ListPage> {
  const contents: ObjectEntry[] = [];
  const commonPrefixes: string[] = [];
  let after = compareKeys(options.after, options.prefix) < 0 ? "" : options.after;
  let last: string | undefined;
  const full = () => contents.length + commonPrefixes.length >= options.maxKeys;
  for (;;) {
    const batch = await objects.list(bucket, options.prefix, after, Math.min(MAX_KEYS_LIMIT, options.maxKeys + 1));
    for (const v of batch.versions) {
      if (compareKeys(v.key, after) <= 0) continue;
      after = v.key;
      if (v.deleted) continue;
      let folded: string | undefined;
      if (options.delimiter) {
        const at = v.key.indexOf(options.delimiter, options.prefix.length);
        if (at >= 0) folded = v.key.slice(0, at + options.delimiter.length);
      }
      if (full()) return { contents, commonPrefixes, truncated: true, last };
      if (folded !== undefined) {
        commonPrefixes.push(folded);
        last = folded;
        after = folded + AFTER_EVERYTHING;
        break; // re-list from past the prefix instead of walking through its keys
      }
      contents.push({ key: v.key, lastModifiedMs: parseStamp(v.stamp)?.physicalMs ?? 0, etag: v.etag, size: logicalSize(v) });
      last = v.key;
    }
    const skippedAhead = last !== undefined && after === last + AFTER_EVERYTHING;
    if (!batch.truncated && !skippedAhead) return { contents, commonPrefixes, truncated: false, last };
    if (batch.versions.length === 0 && !skippedAhead) return { contents, commonPrefixes, truncated: false, last };
  }
}

export async function renderListObjects(ctx: Koa.Context, bucket: string, q: URLSearchParams, objects: ObjectService): Promise<void> {
  const v2 = q.get("list-type") === "2";
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const encodingType = encodingOf(q.get("encoding-type"));
  const maxKeysText = q.get("max-keys");
  const maxKeys = maxKeysText === null ? MAX_KEYS_LIMIT : Number(maxKeysText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range");
  const pageSize = Math.min(maxKeys, MAX_KEYS_LIMIT);
  ctx.type = "application/xml";
  if (v2) {
    const token = q.get("continuation-token") ?? undefined;
    const startAfter = q.get("start-after") ?? undefined;
    let after = startAfter ?? "";
    if (token !== undefined) {
      const decoded = Buffer.from(token, "base64url").toString("utf8");
      if (!decoded.startsWith("k:")) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
      after = decoded.slice(2);
    }
    const page = pageSize === 0 ? emptyPage() : await listPage(objects, bucket, { prefix, delimiter, after, maxKeys: pageSize });
    ctx.body = renderListObjectsV2({
      bucket,
      prefix,
      maxKeys,
      ...(delimiter ? { delimiter } : {}),
      isTruncated: page.truncated,
      ...(token !== undefined ? { continuationToken: token } : {}),
      ...(page.truncated && page.last !== undefined ? { nextContinuationToken: Buffer.from(`k:${page.last}`).toString("base64url") } : {}),
      ...(startAfter !== undefined ? { startAfter } : {}),
      contents: page.contents,
      commonPrefixes: page.commonPrefixes,
      encodingType,
      fetchOwner: q.get("fetch-owner") === "true",
    });
    return;
  }
  const marker = q.get("marker") ?? "";
  const page = pageSize === 0 ? emptyPage() : await listPage(objects, bucket, { prefix, delimiter, after: marker, maxKeys: pageSize });
  ctx.body = renderListObjectsV1({
    bucket,
    prefix,
    marker,
    maxKeys,
    ...(delimiter ? { delimiter } : {}),
    isTruncated: page.truncated,
    ...(delimiter && page.truncated && page.last !== undefined ? { nextMarker: page.last } : {}),
    contents: page.contents.map((c) => ({ ...c, owner: OWNER })),
    commonPrefixes: page.commonPrefixes,
    encodingType,
  });
}

function emptyPage(): ListPage {
  return { contents: [], commonPrefixes: [], truncated: false, last: undefined };
}

function encodingOf(value: string | null): EncodingType {
  if (value === null) return undefined;
  if (value === "url") return "url";
  throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
}
