// Buckets: the router's S3 face of core's bucket registry (core/bucket-registry.ts: the table, the records,
// DeleteBucket's protocol against concurrent PUTs). This file adds what is S3's or the runtime's: the errors
// clients get, the settings' JSON (CORS, lifecycle rules), the records' bodies as streams.
// Guarantees: every decision is core's; a refusal becomes the error S3 sends (NoSuchBucket, BucketNotEmpty,
// OperationAborted, TooManyBuckets, MaxMessageLengthExceeded, ServiceUnavailable when DeleteBucket could not
// mark enough nodes).
// Assumes: the ObjectService's put/remove resolve only once W replicas committed (object-service.ts).
import { BucketRegistry as CoreBucketRegistry, type BucketRecordObjects, type PushOutcome } from "../../core/bucket-registry.ts";
import { BUCKET_SETTINGS_CHARS_MAX, type BucketEntry, type BucketState, type BucketTable, SYSTEM_BUCKET } from "../../core/bucket-table.ts";
import type { NodeId } from "../../core/ids.ts";
import { S3Error } from "../s3/errors.ts";
import { collectBody } from "../s3/payload.ts";
import type { AbortUploadsRule, CorsRule } from "../s3/xml.ts";
import type { ObjectService } from "./object-service.ts";
import { putBytes } from "./small-object.ts";

export { SYSTEM_BUCKET, type PushOutcome };

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
  /** DeleteBucket is running (or was left half done): nodes refuse new versions until it ends. */
  readonly deleting: boolean;
}

export interface BucketRegistryDeps {
  readonly objects: ObjectService;
  readonly table: BucketTable;
  /** Send entries to every node of the view (a `buckets` request each), in parallel; resolves when all answered or failed. */
  push(entries: readonly BucketEntry[]): Promise<PushOutcome>;
  /** W: DeleteBucket lists only once fewer than W nodes lack its mark. */
  readonly writeQuorum: number;
  readonly nowMs?: () => number;
  onPushIncomplete?(bucket: string, state: BucketState, missing: readonly NodeId[]): void;
  onPushFailed?(bucket: string, state: BucketState, cause: unknown): void;
}

/** The record objects core's registry writes, over the router's object service. */
function recordObjects(objects: ObjectService): BucketRecordObjects {
  return {
    head: (bucket, key) => objects.head(bucket, key),
    remove: (bucket, key) => objects.remove(bucket, key),
    list: (bucket, prefix, after, limit) => objects.list(bucket, prefix, after, limit),
    writeText: (target, text) => putBytes(objects, { ...target, contentType: "application/json" }, Buffer.from(text, "utf8")),
    readText: async (version, charsMax) => (await collectBody(await objects.open(version), charsMax * 4)).toString("utf8"),
  };
}

export class BucketRegistry {
  private readonly core: CoreBucketRegistry;
  private readonly settingsOf = new WeakMap<BucketEntry, BucketSettings>();
  private readonly writeQuorum: number;

  constructor(deps: BucketRegistryDeps) {
    this.writeQuorum = deps.writeQuorum;
    this.core = new CoreBucketRegistry({ ...deps, objects: recordObjects(deps.objects), nowMs: deps.nowMs ?? Date.now });
  }

  async find(name: string): Promise<BucketInfo | null> {
    const entry = await this.core.find(name);
    return entry ? this.infoOf(entry) : null;
  }

  async require(name: string): Promise<BucketInfo> {
    const info = await this.find(name);
    if (!info) throw noSuchBucket(name);
    return info;
  }

  async create(name: string): Promise<"created" | "exists"> {
    const outcome = await this.core.create(name);
    if (outcome === "too-many") throw new S3Error("TooManyBuckets", undefined, { extra: { BucketName: name } });
    return outcome;
  }

  /** Replaces the bucket's settings (a new version of its record, same creation time). */
  async updateSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<void> {
    const outcome = await this.core.updateSettings(name, (text) => {
      const settings = change(parseSettings(text));
      return Object.values(settings).every((v) => v === undefined) ? "" : JSON.stringify(settings);
    });
    if (outcome.ok) return;
    if (outcome.error.kind === "no-such-bucket") throw noSuchBucket(name);
    if (outcome.error.kind === "deleting") throw new S3Error("OperationAborted", undefined, { extra: { BucketName: name } });
    throw new S3Error("MaxMessageLengthExceeded", `The bucket's settings may take at most ${BUCKET_SETTINGS_CHARS_MAX} characters of JSON.`);
  }

  async remove(name: string): Promise<void> {
    const outcome = await this.core.remove(name);
    if (outcome.ok) return;
    const refusal = outcome.error;
    if (refusal.kind === "no-such-bucket") throw noSuchBucket(name);
    if (refusal.kind === "not-empty") throw new S3Error("BucketNotEmpty", undefined, { extra: { BucketName: name } });
    throw new S3Error("ServiceUnavailable", `DeleteBucket needs all but ${this.writeQuorum - 1} nodes to answer; ${refusal.missing.length} did not (${refusal.missing.join(", ")}). Try again.`);
  }

  /** ListBuckets: the records (when a listing quorum answers) and the table, the newer of each. */
  async list(): Promise<BucketInfo[]> {
    return (await this.core.list()).map((b) => (b.entry ? this.infoOf(b.entry) : { name: b.name, createdMs: b.createdMs, settings: {}, deleting: b.deleting }));
  }

  private infoOf(entry: BucketEntry): BucketInfo {
    let settings = this.settingsOf.get(entry);
    if (settings === undefined) {
      settings = parseSettings(entry.settings);
      this.settingsOf.set(entry, settings);
    }
    return { name: entry.name, createdMs: entry.createdMs, settings, deleting: entry.state === "deleting" };
  }
}

const parseSettings = (text: string): BucketSettings => (text === "" ? {} : (JSON.parse(text) as BucketSettings));
const noSuchBucket = (name: string): S3Error => new S3Error("NoSuchBucket", undefined, { extra: { BucketName: name } });
