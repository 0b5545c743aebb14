// The oracle's check of multipart uploads (issue 9 item 4), from what clients did and were told, read back
// through a router once the cluster is healthy and repair has quiesced.
// Guarantees: a violation is recorded on the oracle when
//   - a key's newest version is a completed multipart object and one of the parts its manifest names does not
//     read back as that exact version (stamp and checksum): the object is not whole;
//   - a part of an upload whose abort was acknowledged still reads back;
//   - one of these reads fails on the healthy cluster.
// Every part of every such object and abort is read, not a sample. The object's own version is checked by
// the oracle like any put (sim/workload.ts registers a Complete as a put of its multipartBody).
// Assumes: the manifest rides in the version's metadata (sim/body.ts SIM_MANIFEST_META), since simulated
// bodies carry no bytes; parts not named by a Complete are collected best effort (as in the runtime), so
// stray parts of completed uploads are not checked.

import { MANIFEST_META, PARTS_BUCKET, parseManifest, partKey } from "../core/manifest.ts";
import { SIM_MANIFEST_META } from "./body.ts";
import type { ReadOutcome, RouterInstance } from "./logic.ts";
import type { Oracle } from "./oracle.ts";

export class MultipartCheck {
  uploadsCompleted = 0;
  uploadsAborted = 0;
  partsReadBack = 0;
  private readonly completedKeys = new Set<string>();
  private readonly aborted: { readonly key: string; readonly uploadId: string; readonly partNumbers: readonly number[] }[] = [];

  constructor(private readonly oracle: Oracle) {}

  /** A Complete of `key` was sent (acknowledged or not: a Complete that failed may still have written). */
  completing(key: string): void {
    this.completedKeys.add(key);
  }

  completed(): void {
    this.uploadsCompleted += 1;
  }

  abortAcknowledged(key: string, uploadId: string, partNumbers: readonly number[]): void {
    this.uploadsAborted += 1;
    this.aborted.push({ key, uploadId, partNumbers });
  }

  /** Reads every completed object's parts and every aborted upload's parts back through `router`. */
  async readBack(router: RouterInstance, bucket: string): Promise<void> {
    const readable = (outcome: ReadOutcome, what: string, key: string): outcome is Extract<ReadOutcome, { ok: true }> => {
      if (!outcome.ok) this.oracle.violate(key, `final read of ${what} failed on a healthy cluster: ${outcome.reason}`);
      return outcome.ok;
    };
    for (const key of [...this.completedKeys].sort()) {
      const object = await router.get(bucket, key);
      if (!readable(object, `${key}`, key) || !object.found || object.version.userMeta[MANIFEST_META] !== "1") continue;
      const manifest = parseManifest(object.version.userMeta[SIM_MANIFEST_META] ?? "");
      for (const part of manifest.parts) {
        const read = await router.get(PARTS_BUCKET, part.key);
        this.partsReadBack += 1;
        if (!readable(read, `part ${part.partNumber} of ${key}`, key)) return;
        const why = !read.found ? "is gone" : read.version.stamp !== part.stamp ? `reads as ${read.version.stamp}, not ${part.stamp}` : read.body.contentHash !== part.checksum ? `has body ${read.body.contentHash}, not ${part.checksum}` : undefined;
        if (why !== undefined) return this.oracle.violate(key, `completed multipart object ${key}@${object.version.stamp} (upload ${manifest.uploadId}) is not whole: part ${part.partNumber} (${part.key}@${part.stamp}) ${why}`);
      }
    }
    for (const upload of this.aborted) {
      for (const n of upload.partNumbers) {
        const read = await router.get(PARTS_BUCKET, partKey(upload.uploadId, n));
        this.partsReadBack += 1;
        if (!readable(read, `part ${n} of aborted upload ${upload.uploadId}`, upload.key)) return;
        if (read.found) return this.oracle.violate(upload.key, `aborted upload ${upload.uploadId} of ${upload.key} still holds part ${n} (${read.version.stamp}) after its abort was acknowledged`);
      }
    }
  }
}
