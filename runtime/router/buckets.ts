// Buckets as records in the reserved system bucket, placed on the ring and read with quorum like any
// object (DESIGN.md). Routers cache positive answers briefly; a miss always asks the cluster.
// Guarantees: a bucket is "present" only if a quorum read finds its committed, non-deleted record; a
// DeleteBucket succeeds only after a listing found no live object in it.
import { PassThrough } from "node:stream";
import { checksumHex, xxhash64 } from "../../core/hash.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { parseStamp } from "../../core/version.ts";
import { S3Error } from "../s3/errors.ts";
import type { ObjectService } from "./object-service.ts";

export const SYSTEM_BUCKET = "-system";
const RECORD_PREFIX = "buckets/";
const CACHE_TTL_MS = 2000;
const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";

export interface BucketInfo {
  readonly name: string;
  readonly createdMs: number;
}

export class BucketRegistry {
  private readonly cache = new Map<string, { info: BucketInfo; expiresMs: number }>();

  constructor(
    private readonly objects: ObjectService,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async find(name: string): Promise<BucketInfo | null> {
    const cached = this.cache.get(name);
    if (cached && cached.expiresMs > this.nowMs()) return cached.info;
    this.cache.delete(name);
    const record = await this.objects.head(SYSTEM_BUCKET, RECORD_PREFIX + name);
    if (!record || record.deleted) return null;
    const info = infoOf(name, record);
    this.cache.set(name, { info, expiresMs: this.nowMs() + CACHE_TTL_MS });
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    return info;
  }

  async require(name: string): Promise<BucketInfo> {
    const info = await this.find(name);
    if (!info) throw new S3Error("NoSuchBucket", undefined, { extra: { BucketName: name } });
    return info;
  }

  async create(name: string): Promise<"created" | "exists"> {
    if (await this.find(name)) return "exists";
    const body = new PassThrough();
    body.end();
    await this.objects.put({
      bucket: SYSTEM_BUCKET,
      key: RECORD_PREFIX + name,
      contentType: "application/octet-stream",
      metadata: {},
      size: 0,
      body,
      digests: Promise.resolve({ md5Hex: EMPTY_MD5, checksum: checksumHex(xxhash64("")), size: 0 }),
    });
    return "created";
  }

  async remove(name: string): Promise<void> {
    await this.require(name);
    const { versions } = await this.objects.list(name, "", "", 50);
    if (versions.some((v) => !v.deleted)) throw new S3Error("BucketNotEmpty", undefined, { extra: { BucketName: name } });
    this.cache.delete(name);
    await this.objects.remove(SYSTEM_BUCKET, RECORD_PREFIX + name);
  }

  async list(): Promise<BucketInfo[]> {
    const out: BucketInfo[] = [];
    let after = "";
    for (;;) {
      const page = await this.objects.list(SYSTEM_BUCKET, RECORD_PREFIX, after, 1000);
      for (const v of page.versions) if (!v.deleted) out.push(infoOf(v.key.slice(RECORD_PREFIX.length), v));
      if (!page.truncated || page.versions.length === 0) return out;
      after = page.versions[page.versions.length - 1]!.key;
    }
  }
}

function infoOf(name: string, record: ObjectVersion): BucketInfo {
  return { name, createdMs: parseStamp(record.stamp)?.physicalMs ?? 0 };
}
