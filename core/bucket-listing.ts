// One merged read of a bucket listing, as a router does it: ask every live node of the rings in force for
// its page, decide whether enough answered (listingComplete), and merge (mergeListingPages). The runtime's
// router and the simulated router both call readBucketListing, so the simulator checks the rule that runs.
// Guarantees: a merged page is returned only when at most W−1 of the nodes asked did not answer (a node that
// refuses because its disk lacks versions it acknowledged counts as not answering: core/storage-node.ts);
// otherwise the failure names every node that did not answer and why.
// Assumes: each answering node lists the newest committed version of each key it holds (core/storage-node.ts).
import type { NodeId } from "./ids.ts";
import { type RingView, ringsOf, viewNodeIds } from "./membership.ts";
import { type ListRequest, type ListResult, type MergedListingRead, type MergedPage, listPage, listingComplete, mergeListingPages } from "./listing.ts";
import type { VersionStamp } from "./object-version.ts";
import type { PlantedBugs } from "./planted-bugs.ts";
import type { CancelSignal, Transport, TransportFailure } from "./ports.ts";
import { type Result, err, ok } from "./result.ts";
import type { ReplicationSettings } from "./settings.ts";

export interface BucketListingDeps<Body> {
  readonly transport: Transport<Body>;
  rings(): RingView;
  isLive(node: NodeId): boolean;
  readonly settings: Pick<ReplicationSettings, "writeQuorum">;
  /** Only the simulator sets these (core/planted-bugs.ts). */
  readonly faults?: PlantedBugs;
  /**
   * The router's clock: it observes every stamp a listing showed, as a read does, so a delete this router
   * sends after listing a version (collecting an upload's parts, a client deleting what it listed) is stamped
   * after it and wins, however far ahead the writer's clock was.
   */
  readonly hlc?: { observe(stamp: VersionStamp): void };
}

export interface BucketListingRead {
  readonly bucket: string;
  readonly prefix: string;
  /** Keys strictly after this one ("" for the start). */
  readonly after: string;
  readonly limit: number;
  /** Nodes may jump past a common prefix under it (core/listing.ts nodeListingPage). */
  readonly delimiter?: string;
}

export type ListingShortfall =
  | { readonly kind: "incomplete"; readonly answered: number; readonly asked: number; readonly missed: readonly { readonly node: NodeId; readonly why: string }[] }
  | { readonly kind: "cancelled" };

/** The nodes a listing asks: every node of the rings in force, since a key may sit on any of them (handoffs too). */
export function listingTargets(view: RingView): NodeId[] {
  return viewNodeIds(view);
}

export async function readBucketListing<Body>(deps: BucketListingDeps<Body>, read: BucketListingRead, signal?: CancelSignal): Promise<Result<MergedPage, ListingShortfall>> {
  if (signal?.aborted) return err({ kind: "cancelled" });
  const asked = listingTargets(deps.rings());
  const request = { kind: "list-bucket" as const, bucket: read.bucket, prefix: read.prefix, after: read.after, limit: read.limit, ...(read.delimiter ? { delimiter: read.delimiter } : {}) };
  const answers = await Promise.all(asked.map(async (node) => (deps.isLive(node) ? { node, answer: await deps.transport.send(node, request, signal) } : { node, answer: err<TransportFailure>({ kind: "unreachable", detail: "down to this router" }) })));
  // The fan-out was cut: the nodes that did not answer in time say nothing about the cluster.
  if (signal?.aborted) return err({ kind: "cancelled" });
  const pages = answers.flatMap((a) => (a.answer.ok ? [a.answer.value] : []));
  if (!listingComplete(pages.length, asked.length, deps.settings.writeQuorum)) {
    const missed = answers.flatMap((a) => (a.answer.ok ? [] : [{ node: a.node, why: `${a.answer.error.kind}: ${a.answer.error.detail}` }]));
    return err({ kind: "incomplete", answered: pages.length, asked: asked.length, missed });
  }
  const merged = mergeListingPages(pages, read.limit, read.delimiter ? { prefix: read.prefix, delimiter: read.delimiter } : undefined);
  let newest: VersionStamp | undefined;
  for (const v of merged.versions) if (newest === undefined || v.stamp > newest) newest = v.stamp;
  if (newest !== undefined) deps.hlc?.observe(newest);
  return ok(merged);
}

/**
 * One S3 page of a bucket listing (core/listing.ts listPage) over readBucketListing: the page, or the shortfall
 * of the first merged read that fell short (the page is then not cut at all).
 */
export async function listBucketPage<Body>(deps: BucketListingDeps<Body>, bucket: string, request: ListRequest): Promise<Result<ListResult, ListingShortfall>> {
  let shortfall: ListingShortfall | undefined;
  const stop = new Error("listing fell short"); // listPage's read cannot return a failure; this never leaves here
  const read: MergedListingRead = async (after, limit) => {
    const page = await readBucketListing(deps, { bucket, prefix: request.prefix, after, limit, ...(request.delimiter ? { delimiter: request.delimiter } : {}) });
    if (page.ok) return page.value;
    shortfall = page.error;
    throw stop;
  };
  try {
    return ok(await listPage(read, request, undefined, deps.faults));
  } catch (error) {
    if (error === stop && shortfall !== undefined) return err(shortfall);
    throw error;
  }
}
