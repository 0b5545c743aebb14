// Buckets as records in the reserved system bucket, placed on the ring and read with quorum like any
// object (DESIGN.md). Routers cache positive answers briefly (2 s) and keep serving one for 10 minutes when
// the record's partition cannot answer; a miss always asks the cluster.
// A record's body holds the bucket's settings (its CORS rules) as JSON; a bucket without settings has an
// empty body, so the common case costs one metadata read.
// Guarantees: a bucket is "present" only if a quorum read finds its committed, non-deleted record; a
// DeleteBucket succeeds only after a listing found no live object in it.
import { listPage } from "../../core/listing.ts";
import type { ObjectVersion } from "../../core/object-version.ts";
import { parseStamp } from "../../core/version.ts";
import { S3Error } from "../s3/errors.ts";
import { collectBody } from "../s3/payload.ts";
import type { AbortUploadsRule, CorsRule } from "../s3/xml.ts";
import type { ObjectService } from "./object-service.ts";
import { putBytes } from "./small-object.ts";

export const SYSTEM_BUCKET = "-system";
const RECORD_PREFIX = "buckets/";
const CACHE_TTL_MS = 2000;
/** Records written before settings existed carry no creation time of their own: their stamp's time is it. */
const CREATED_MS_META = "x-ringstore-created-ms";
const SETTINGS_BYTES_MAX = 256 * 1024;

export interface BucketSettings {
  readonly cors?: readonly CorsRule[];
  readonly lifecycle?: readonly AbortUploadsRule[];
  /**
   * Some object of the bucket had its tags set after it was written (PutObjectTagging, DeleteObjectTagging):
   * GET and HEAD then read the tag records too, for x-amz-tagging-count (runtime/router/object-tags.ts).
   */
  readonly tagsSetLater?: true;
}

export interface BucketInfo {
  readonly name: string;
  readonly createdMs: number;
  readonly settings: BucketSettings;
}

/**
 * How long a bucket known to exist is still served when its record cannot be read (its partition lost its read
 * quorum): a bucket's existence changes rarely, and without this one partition's trouble stops every request
 * to the bucket. A bucket deleted meanwhile on another router is seen as present that long; its objects'
 * own writes and reads still need their own quorums.
 */
const STALE_SERVE_MS = 10 * 60_000;
const CACHE_ENTRIES_MAX = 10_000;

export class BucketRegistry {
  private readonly cache = new Map<string, { info: BucketInfo; freshUntilMs: number; usableUntilMs: number }>();
  /** One record read per bucket at a time: requests arriving while it runs share its answer. */
  private readonly lookups = new Map<string, Promise<BucketInfo | null>>();

  constructor(
    private readonly objects: ObjectService,
    private readonly nowMs: () => number = Date.now,
    private readonly onStale: (name: string, cause: unknown) => void = () => {},
  ) {}

  async find(name: string): Promise<BucketInfo | null> {
    const cached = this.cache.get(name);
    if (cached && cached.freshUntilMs > this.nowMs()) return cached.info;
    const running = this.lookups.get(name);
    if (running) return running;
    const lookup = this.readRecord(name).then(
      (info) => {
        this.cache.delete(name);
        if (info) {
          const now = this.nowMs();
          this.cache.set(name, { info, freshUntilMs: now + CACHE_TTL_MS, usableUntilMs: now + STALE_SERVE_MS });
          if (this.cache.size > CACHE_ENTRIES_MAX) this.cache.delete(this.cache.keys().next().value!);
        }
        return info;
      },
      (error: unknown) => {
        const known = this.cache.get(name);
        if (known && known.usableUntilMs > this.nowMs()) {
          // Ask again only after another fresh period: one read and one log line per bucket per 2 s.
          known.freshUntilMs = this.nowMs() + CACHE_TTL_MS;
          this.onStale(name, error);
          return known.info;
        }
        throw error;
      },
    );
    this.lookups.set(name, lookup);
    try {
      return await lookup;
    } finally {
      this.lookups.delete(name);
    }
  }

  private async readRecord(name: string): Promise<BucketInfo | null> {
    const record = await this.objects.head(SYSTEM_BUCKET, RECORD_PREFIX + name);
    if (!record || record.deleted) return null;
    return { ...infoOf(name, record), settings: record.size > 0 ? await this.readSettings(record) : {} };
  }

  private async readSettings(record: ObjectVersion): Promise<BucketSettings> {
    const bytes = await collectBody(await this.objects.open(record), SETTINGS_BYTES_MAX);
    return JSON.parse(bytes.toString("utf8")) as BucketSettings;
  }

  /** Replaces the bucket's settings (a new version of its record, same creation time). */
  async updateSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<void> {
    const info = await this.require(name);
    const settings = change(info.settings);
    const empty = Object.values(settings).every((v) => v === undefined);
    await this.writeRecord(name, info.createdMs, empty ? Buffer.alloc(0) : Buffer.from(JSON.stringify(settings)));
    this.cache.delete(name);
  }

  private async writeRecord(name: string, createdMs: number, bytes: Buffer): Promise<void> {
    await putBytes(this.objects, { bucket: SYSTEM_BUCKET, key: RECORD_PREFIX + name, contentType: "application/json", metadata: { [CREATED_MS_META]: String(createdMs) } }, bytes);
  }

  async require(name: string): Promise<BucketInfo> {
    const info = await this.find(name);
    if (!info) throw new S3Error("NoSuchBucket", undefined, { extra: { BucketName: name } });
    return info;
  }

  async create(name: string): Promise<"created" | "exists"> {
    if (await this.find(name)) return "exists";
    await this.writeRecord(name, this.nowMs(), Buffer.alloc(0));
    return "created";
  }

  async remove(name: string): Promise<void> {
    await this.require(name);
    // One live key anywhere makes the bucket non-empty: the page algorithm walks past any run of tombstones
    // (a fixed-size peek at the first versions would miss a live key behind 50 deleted ones).
    const firstLive = await listPage((after, limit) => this.objects.list(name, "", after, limit), { prefix: "", start: { kind: "start" }, maxKeys: 1 });
    if (firstLive.entries.length > 0) throw new S3Error("BucketNotEmpty", undefined, { extra: { BucketName: name } });
    this.cache.delete(name);
    await this.objects.remove(SYSTEM_BUCKET, RECORD_PREFIX + name);
  }

  async list(): Promise<BucketInfo[]> {
    const out: BucketInfo[] = [];
    let after = "";
    for (;;) {
      const page = await this.objects.list(SYSTEM_BUCKET, RECORD_PREFIX, after, 1000);
      for (const v of page.versions) if (!v.deleted) out.push({ ...infoOf(v.key.slice(RECORD_PREFIX.length), v), settings: {} });
      if (!page.truncated || page.versions.length === 0) return out;
      after = page.versions[page.versions.length - 1]!.key;
    }
  }
}

function infoOf(name: string, record: ObjectVersion): Omit<BucketInfo, "settings"> {
  const created = Number(record.userMeta[CREATED_MS_META]);
  return { name, createdMs: Number.isSafeInteger(created) && created > 0 ? created : (parseStamp(record.stamp)?.physicalMs ?? 0) };
}
