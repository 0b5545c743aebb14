// The client workload: PUT, GET and DELETE over many keys, sizes from bytes to many MiB (size + content hash),
// and bucket listings (ListObjects paged to its end, with and without a delimiter, prefix and start marker).
// Guarantees: operations arrive as a Poisson process at opsPerSecond, never more than inFlightMax at once; the
// first writes go to keys not written yet, so every key exists early; every operation and its outcome goes
// through the oracle; all draws come from the workload's own RNG stream.
// Assumes: routers are the only entry point (a router per client request, chosen at random among those up).

import { assert } from "../core/assert.ts";
import { type ListEntry, cursorOfMarker } from "../core/listing.ts";
import { clientBody, multipartBody } from "./body.ts";
import type { EventLoop } from "./event-loop.ts";
import type { RouterInstance } from "./logic.ts";
import type { ListingCheck, ListingShape } from "./listing-check.ts";
import type { MultipartCheck } from "./multipart-check.ts";
import { type BucketCheck, LIFECYCLE_BUCKETS, LIFECYCLE_KEYS } from "./bucket-check.ts";
import type { ReadRepairCheck } from "./read-repair-check.ts";
import type { WriteQuorumCheck } from "./write-quorum-check.ts";
import type { Oracle } from "./oracle.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

export interface WorkloadSettings {
  readonly keyCount: number;
  readonly opsPerSecond: number;
  readonly inFlightMax: number;
  /** Shares of operations once every key has been written once; the rest are GETs. */
  readonly putShare: number;
  readonly deleteShare: number;
  /** Share of listings among the operations once every key has been written once. */
  readonly listShare: number;
  /** Share of multipart uploads (create, parts in any order, some re-sent, then complete or abort). */
  readonly multipartShare: number;
  /** Share of operations on the lifecycle buckets (sim/bucket-check.ts): create, fill, empty and delete them. */
  readonly bucketShare: number;
  /** Sizes: mostly small (log-uniform in [sizeBytesMin, smallBytesMax]), bigShare of them large (up to sizeBytesMax). */
  readonly sizeBytesMin: number;
  readonly smallBytesMax: number;
  readonly sizeBytesMax: number;
  readonly bigShare: number;
}

export const defaultWorkload: WorkloadSettings = {
  keyCount: 2_000,
  opsPerSecond: 20,
  inFlightMax: 32,
  putShare: 0.3,
  deleteShare: 0.05,
  listShare: 0.01,
  multipartShare: 0.03,
  bucketShare: 0.1,
  sizeBytesMin: 1,
  smallBytesMax: 256 * 1024,
  sizeBytesMax: 64 * 1024 * 1024,
  bigShare: 0.02,
};

export const BUCKET = "videos";

/** The oracle's checks beside the per-key one (sim/oracle.ts), each fed by the operations it is about. */
export interface WorkloadChecks {
  readonly listings?: ListingCheck;
  readonly multipart?: MultipartCheck;
  readonly buckets?: BucketCheck;
  readonly readRepairs?: ReadRepairCheck;
  readonly writeQuorums?: WriteQuorumCheck;
}

/** Folders keys live in, by key index: some at the top, some nested, so that delimiters fold something. */
const FOLDERS = ["", "f1/", "f2/", "f3/", "f3/s/", "f4/"] as const;
/** Listing shapes the clients ask for: prefixes that match everything, one folder, a nested one, a partial name. */
const LIST_PREFIXES = ["", "", "f3/", "f3/s/", "f", "k0"] as const;
const LIST_MAX_KEYS = [1000, 1000, 250, 7] as const;
/** A listing stops after this many pages (the oracle then requires only what they covered): bounds its cost. */
export const LIST_PAGES_MAX = 12;

export class Workload {
  private inFlight = 0;
  private written = 0;
  private writeSeq = 0;
  private stopped = false;
  opsStarted = 0;

  constructor(
    private readonly settings: WorkloadSettings,
    private readonly loop: EventLoop,
    private readonly rng: SimRng,
    private readonly oracle: Oracle,
    private readonly trace: Trace,
    private readonly routers: () => RouterInstance[],
    private readonly checks: WorkloadChecks = {},
  ) {
    assert(settings.keyCount > 0 && settings.opsPerSecond > 0 && settings.inFlightMax > 0, "workload settings must be positive");
  }

  start(untilMs: number): void {
    const tick = (): void => {
      if (this.stopped || this.loop.nowMs >= untilMs) return;
      if (this.inFlight < this.settings.inFlightMax) this.startOne();
      this.loop.after(this.rng.exponential(1000 / this.settings.opsPerSecond), tick);
    };
    // A cluster starts with no bucket: the clients create theirs first, as S3 clients must.
    void this.createMainBucket(untilMs).then(() => this.loop.after(0, tick), (error: unknown) => this.loop.fail(error));
  }

  /** CreateBucket of BUCKET through routers chosen at random, every 100 ms until one answers created (or exists). */
  private async createMainBucket(untilMs: number): Promise<void> {
    for (let attempt = 1; !this.stopped && this.loop.nowMs < untilMs; attempt++) {
      const routers = this.routers();
      const outcome = routers.length === 0 ? undefined : await this.rng.pick(routers).createBucket(BUCKET);
      this.trace.add(`client create-bucket ${BUCKET} #${attempt} ${!outcome ? "no router" : outcome.ok ? (outcome.created ? "created" : "exists") : `failed ${outcome.reason}`}`);
      if (outcome?.ok) return;
      await new Promise<void>((resolve) => this.loop.after(100, resolve));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  keyName(index: number): string {
    return `${FOLDERS[index % FOLDERS.length]}k${index.toString().padStart(5, "0")}`;
  }

  /** A small body: what multipart parts are here (a simulated part stands in for 5 MiB or more). */
  private smallSize(): number {
    const s = this.settings;
    return Math.round(Math.exp(this.rng.between(Math.log(s.sizeBytesMin), Math.log(s.smallBytesMax))));
  }

  private size(): number {
    const s = this.settings;
    const [lo, hi] = this.rng.chance(s.bigShare) ? [s.smallBytesMax, s.sizeBytesMax] : [s.sizeBytesMin, s.smallBytesMax];
    return Math.round(Math.exp(this.rng.between(Math.log(lo), Math.log(hi))));
  }

  private startOne(): void {
    const routers = this.routers();
    if (routers.length === 0) return;
    const router = this.rng.pick(routers);
    let op: "put" | "get" | "delete" | "list" | "multipart" | "bucket";
    let index: number;
    if (this.written < this.settings.keyCount) {
      op = "put";
      index = this.written++;
    } else {
      const draw = this.rng.nextFloat();
      const s = this.settings;
      const listUntil = s.putShare + s.deleteShare + (this.checks.listings ? s.listShare : 0);
      const multipartUntil = listUntil + (this.checks.multipart ? s.multipartShare : 0);
      const bucketUntil = multipartUntil + (this.checks.buckets ? s.bucketShare : 0);
      op = draw < s.putShare ? "put" : draw < s.putShare + s.deleteShare ? "delete" : draw < listUntil ? "list" : draw < multipartUntil ? "multipart" : draw < bucketUntil ? "bucket" : "get";
      index = this.rng.nextInt(this.settings.keyCount);
    }
    this.opsStarted += 1;
    if (op === "list") void this.list(index);
    else if (op === "multipart") void this.upload(this.keyName(index));
    else if (op === "bucket") void this.bucketOp();
    else void this.run(router, op, this.keyName(index));
  }

  /**
   * One listing, paged to its end (at most LIST_PAGES_MAX pages), each page through a router chosen at random
   * among those up, as a client behind a load balancer sees it; checked by sim/listing-check.ts.
   */
  async list(markerIndex: number): Promise<void> {
    const prefix = this.rng.pick(LIST_PREFIXES);
    const delimiter = this.rng.chance(0.5) ? "/" : "";
    const maxKeys = this.rng.pick(LIST_MAX_KEYS);
    const startAfter = this.rng.chance(0.2) ? this.keyName(markerIndex) : this.rng.chance(0.1) ? "f3/" : "";
    await this.listing({ prefix, delimiter, maxKeys, startAfter }, LIST_PAGES_MAX);
  }

  /** One listing of `shape`, paged to its end or `pagesMax` pages; undefined when it was checked, else why it failed. */
  async listing(shape: ListingShape, pagesMax: number): Promise<string | undefined> {
    const listings = this.checks.listings!;
    const { prefix, delimiter, maxKeys, startAfter } = shape;
    this.inFlight += 1;
    try {
      const token = listings.started(shape);
      const pages: ListEntry[][] = [];
      let start = cursorOfMarker(startAfter, prefix, delimiter);
      for (;;) {
        const routers = this.routers();
        if (routers.length === 0) {
          listings.failed();
          return "no router up";
        }
        const outcome = await this.rng.pick(routers).list(BUCKET, { prefix, delimiter, start, maxKeys });
        if (!outcome.ok) {
          this.trace.add(`client list ${JSON.stringify(shape)} page ${pages.length + 1} failed ${outcome.reason}`);
          listings.failed();
          return outcome.reason;
        }
        pages.push([...outcome.page.entries]);
        if (!outcome.page.truncated || outcome.page.next === undefined || pages.length >= pagesMax) {
          this.trace.add(`client list ${JSON.stringify(shape)} ${pages.length} pages, ${pages.reduce((n, p) => n + p.length, 0)} entries`);
          listings.ended(token, pages, !outcome.page.truncated);
          return undefined;
        }
        start = outcome.page.next;
      }
    } catch (error) {
      this.loop.fail(error);
      return String(error);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * One multipart upload of `key`, each request through a router chosen among those up: Create, 1 to 4 parts
   * in random order (a fifth of them sent twice, the second body being the part), then Abort (15%) or
   * Complete. A request that fails abandons the upload, as a client that gives up does. The Complete is a put
   * of `key` to the oracle (its body is sim/body.ts multipartBody of the parts the client names).
   */
  async upload(key: string): Promise<void> {
    const check = this.checks.multipart!;
    const router = (): RouterInstance | undefined => {
      const up = this.routers();
      return up.length === 0 ? undefined : this.rng.pick(up);
    };
    this.inFlight += 1;
    try {
      const created = await router()?.createUpload(BUCKET, key);
      this.trace.add(`client create-upload ${key} ${!created ? "no router" : created.ok ? `ok ${created.uploadId}` : `failed ${created.reason}`}`);
      if (!created?.ok) return;
      const uploadId = created.uploadId;
      const numbers = Array.from({ length: 1 + this.rng.nextInt(4) }, (_, i) => i + 1);
      for (let i = numbers.length - 1; i > 0; i--) {
        const j = this.rng.nextInt(i + 1);
        [numbers[i], numbers[j]] = [numbers[j]!, numbers[i]!];
      }
      const sent = new Map<number, { readonly etag: string; readonly size: number }>();
      for (const n of numbers) {
        for (let send = this.rng.chance(0.2) ? 2 : 1; send > 0; send--) {
          const body = clientBody(`${uploadId}/${n}`, this.writeSeq++, this.smallSize());
          const stored = await router()?.uploadPart(BUCKET, key, uploadId, n, body);
          this.trace.add(`client upload-part ${key} ${uploadId} #${n} ${body.size}B ${!stored ? "no router" : stored.ok ? "ok" : `failed ${stored.reason}`}`);
          if (!stored?.ok) return;
          sent.set(n, { etag: stored.etag, size: body.size });
        }
      }
      if (this.rng.chance(0.15)) {
        const aborted = await router()?.abortUpload(BUCKET, key, uploadId);
        this.trace.add(`client abort-upload ${key} ${uploadId} ${!aborted ? "no router" : aborted.ok ? "ok" : `failed ${aborted.reason}`}`);
        if (aborted?.ok) check.abortAcknowledged(key, uploadId, numbers);
        return;
      }
      const named = [...sent.entries()].sort(([a], [b]) => a - b);
      const via = router();
      if (via === undefined) return;
      check.completing(key);
      const record = this.oracle.writeStarted(key, "put", multipartBody(uploadId, named.map(([, p]) => p)), via);
      const outcome = await via.completeUpload(BUCKET, key, uploadId, named.map(([partNumber, p]) => ({ partNumber, etag: p.etag })));
      this.trace.add(`client complete-upload ${key} ${uploadId} ${named.length} parts ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
      this.oracle.writeEnded(record, outcome);
      if (outcome.ok) check.completed();
    } catch (error) {
      this.loop.fail(error);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * One operation on a lifecycle bucket (sim/bucket-check.ts), through a router chosen among those up:
   * CreateBucket, DeleteBucket after emptying it as `aws s3 rb --force` does (list, delete each key listed, then
   * DeleteBucket: PUTs running meanwhile race with it), or a PUT, DELETE or GET of one of its few keys.
   */
  async bucketOp(): Promise<void> {
    const check = this.checks.buckets!;
    const router = (): RouterInstance | undefined => {
      const up = this.routers();
      return up.length === 0 ? undefined : this.rng.pick(up);
    };
    const bucket = this.rng.pick(LIFECYCLE_BUCKETS);
    const key = `e${this.rng.nextInt(LIFECYCLE_KEYS)}`;
    const draw = this.rng.nextFloat();
    this.inFlight += 1;
    try {
      const via = router();
      if (via === undefined) return;
      if (draw < 0.2) {
        const op = check.opStarted(bucket, "create");
        const outcome = await via.createBucket(bucket);
        this.trace.add(`client create-bucket ${bucket} ${outcome.ok ? (outcome.created ? "created" : "exists") : `failed ${outcome.reason}`}`);
        check.opEnded(op, outcome);
      } else if (draw < 0.35) {
        const listed = await via.list(bucket, { prefix: "", delimiter: "", start: cursorOfMarker("", "", ""), maxKeys: 1000 });
        for (const entry of listed.ok ? listed.page.entries : []) {
          if (entry.kind !== "key") continue;
          const deleting = check.writeStarted(bucket, entry.version.key, null);
          const removed = await (router() ?? via).delete(bucket, entry.version.key);
          this.trace.add(`client delete ${bucket}/${entry.version.key} ${removed.ok ? `ok ${removed.stamp}` : `failed ${removed.reason}`}`);
          check.writeEnded(deleting, removed);
        }
        const op = check.opStarted(bucket, "delete");
        const outcome = await (router() ?? via).deleteBucket(bucket);
        this.trace.add(`client delete-bucket ${bucket} ${outcome.ok ? "ok" : `failed ${outcome.reason}`}`);
        check.opEnded(op, outcome);
      } else if (draw < 0.75) {
        const body = clientBody(`${bucket}/${key}`, this.writeSeq++, this.smallSize());
        const write = check.writeStarted(bucket, key, body);
        const outcome = await via.put(bucket, key, body);
        this.trace.add(`client put ${bucket}/${key} ${body.size}B ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        check.writeEnded(write, outcome);
      } else if (draw < 0.85) {
        const write = check.writeStarted(bucket, key, null);
        const outcome = await via.delete(bucket, key);
        this.trace.add(`client delete ${bucket}/${key} ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        check.writeEnded(write, outcome);
      } else {
        const token = check.readStarted(bucket, key);
        const outcome = await via.get(bucket, key);
        this.trace.add(`client get ${bucket}/${key} ${!outcome.ok ? `failed ${outcome.reason}` : outcome.found ? `found ${outcome.version.stamp}` : "not-found"}`);
        check.readEnded(token, outcome);
      }
    } catch (error) {
      this.loop.fail(error);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** One client operation against one router, checked by the oracle. */
  async run(router: RouterInstance, op: "put" | "get" | "delete", key: string): Promise<void> {
    this.inFlight += 1;
    try {
      if (op === "put") {
        const body = clientBody(key, this.writeSeq++, this.size());
        const record = this.oracle.writeStarted(key, "put", body, router);
        const outcome = await router.put(BUCKET, key, body);
        this.trace.add(`client put ${key} ${body.size}B ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        this.oracle.writeEnded(record, outcome);
        if (outcome.ok && outcome.quorum) this.checks.writeQuorums?.acknowledged(outcome.quorum);
      } else if (op === "delete") {
        const record = this.oracle.writeStarted(key, "delete", null);
        const outcome = await router.delete(BUCKET, key);
        this.trace.add(`client delete ${key} ${outcome.ok ? `ok ${outcome.stamp}` : `failed ${outcome.reason}`}`);
        this.oracle.writeEnded(record, outcome);
      } else {
        const token = this.oracle.readStarted(key);
        const outcome = await router.get(BUCKET, key);
        this.trace.add(`client get ${key} ${!outcome.ok ? `failed ${outcome.reason}` : outcome.found ? `found ${outcome.version.stamp}` : "not-found"}`);
        this.oracle.readEnded(token, outcome);
        if (outcome.ok && outcome.found && outcome.readRepair) this.checks.readRepairs?.observe(key, outcome.version, outcome.readRepair);
      }
    } catch (error) {
      this.loop.fail(error);
    } finally {
      this.inFlight -= 1;
    }
  }
}
