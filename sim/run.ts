// One seed of one scenario, start to verdict.
// Guarantees: the run is a pure function of (scenario, seed, logic, planted bugs): same inputs, same trace hash;
// it stops at the first violation (oracle or assertion in core) and returns the trace tail that shows it;
// otherwise it heals the world at faultsEndMs, lets load finish, waits (in simulated time) until every key is
// fully replicated on its primaries with nothing on handoffs, then checks that nothing acknowledged was lost
// and reads a sample of keys back through a router.
// Assumes: the logic's background loops keep running forever, so the run ends by time, never by an empty queue.

import type { NodeId } from "../core/ids.ts";
import { noPlantedBugs, type PlantedBugs } from "../core/planted-bugs.ts";
import { AvailabilityRule } from "./availability.ts";
import { defaultDisk } from "./disk.ts";
import { EventLoop } from "./event-loop.ts";
import type { Logic } from "./logic.ts";
import { defaultNetwork } from "./network.ts";
import { Oracle, type Violation } from "./oracle.ts";
import { SimRng } from "./rng.ts";
import type { Scenario } from "./scenario.ts";
import { defaultTiming } from "./timing.ts";
import { Trace } from "./trace.ts";
import { ListingCheck } from "./listing-check.ts";
import { MultipartCheck } from "./multipart-check.ts";
import { BucketCheck } from "./bucket-check.ts";
import { ReadRepairCheck } from "./read-repair-check.ts";
import { WriteQuorumCheck } from "./write-quorum-check.ts";
import { BUCKET, Workload, defaultWorkload } from "./workload.ts";
import { type FaultMark, World } from "./world.ts";

export interface RunOptions {
  readonly logic: Logic;
  readonly bugs?: PlantedBugs;
  /** Keep every trace line (for --trace). */
  readonly keepTrace?: boolean;
  /** Trace every network message (slower, finer). */
  readonly traceMessages?: boolean;
  readonly eventsMax?: number;
  /** Sample the minimum live replica count this often (for the chart). */
  readonly sampleEveryMs?: number;
  /** Keys read back through a router at the end. */
  readonly finalReads?: number;
  /** Called with the world at the end of the run (debugging, tests). */
  readonly inspect?: (world: World) => void;
}

export interface RunFigures {
  writesAcknowledged: number;
  writesFailed: number;
  /** Acknowledged writes whose every copy injected faults destroyed (two disks wiped at once, say). */
  writesDestroyedByFaults: number;
  deletesAcknowledged: number;
  readsChecked: number;
  readsFailed: number;
  /** Listings paged and checked (sim/listing-check.ts), and listings that failed (a page refused). */
  listingsChecked: number;
  listingsFailed: number;
  /** Multipart uploads completed and aborted (acknowledged), and parts read back at the end (sim/multipart-check.ts). */
  uploadsCompleted: number;
  uploadsAborted: number;
  partsReadBack: number;
  /** Lifecycle buckets (sim/bucket-check.ts): created and deleted (acknowledged), DeleteBucket refused as not empty, PUTs refused NoSuchBucket. */
  bucketsCreated: number;
  bucketsDeleted: number;
  bucketDeletesRefusedNotEmpty: number;
  putsRefusedNoSuchBucket: number;
  /** Old versions read after their bucket's deletion, explained only by a DeleteObject that failed. */
  bucketLeftoversSeen: number;
  /** Read repair copies to primaries a read found behind: verified on the primary, and failed (sim/read-repair-check.ts). */
  readRepairsVerified: number;
  readRepairsFailed: number;
  faultsInjected: number;
  simulatedMs: number;
  /** From the end of faults (heal) to full replication; null if it never got there. */
  fullReplicationAfterFaultsMs: number | null;
  events: number;
  wallMs: number;
  eventsPerSecond: number;
  traceLines: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly figures: RunFigures;
  readonly traceHash: string;
  readonly traceTail: readonly string[];
  readonly traceAll: readonly string[] | undefined;
  readonly series: readonly { atMs: number; minReplicas: number }[];
  readonly faultMarks: readonly FaultMark[];
  /** Network requests by kind, for tuning. */
  readonly requestsByKind: Readonly<Record<string, number>>;
}

export async function runSeed(scenario: Scenario, seed: number, options: RunOptions): Promise<RunResult> {
  const wallStart = performance.now();
  const loop = new EventLoop(options.eventsMax ?? 20_000_000);
  const rng = new SimRng(`${scenario.name}#${seed}`);
  const trace = new Trace(() => loop.nowMs, options.keepTrace ?? false);
  const oracle = new Oracle(() => loop.nowMs);
  const timing = { ...defaultTiming, ...scenario.timing };
  const world = new World(
    loop,
    rng,
    trace,
    options.logic,
    scenario.cluster,
    { ...defaultNetwork, ...scenario.network },
    { ...defaultDisk, ...scenario.disk },
    options.bugs ?? noPlantedBugs,
    timing,
  );
  world.network.traceMessages = options.traceMessages ?? false;
  world.census.onBodyStored = (contentHash) => oracle.bodyStored(contentHash);
  world.census.onLogicDrop = (node, version) => {
    const problem = world.logicDropProblem(node, version);
    if (problem !== undefined) oracle.violate(version.key, problem);
  };
  world.onDiskWiped = () => {
    const index = world.stampIndex();
    oracle.copiesDestroyed(
      (key) => index.get(key) ?? [],
      (key, stamp) => world.census.everDroppedByLogic(key, stamp),
    );
  };
  const listings = new ListingCheck(oracle, () => loop.nowMs);
  const multipart = new MultipartCheck(oracle);
  const buckets = new BucketCheck(() => loop.nowMs, (key, what) => oracle.violate(key, what));
  const readRepairs = new ReadRepairCheck(
    {
      incarnationOf: (node) => world.incarnationOf(node),
      holdsAtLeast: (node, key, stamp) => [...(world.census.copies.get(key) ?? new Map<string, Set<NodeId>>())].some(([s, holders]) => s >= stamp && holders.has(node)),
    },
    (key, what) => oracle.violate(key, what),
  );
  const holds = (node: NodeId, key: string, stamp: string): boolean => world.census.copies.get(key)?.get(stamp)?.has(node) ?? false;
  const writeQuorums = scenario.cluster.quorum.sloppyQuorum ? undefined : new WriteQuorumCheck(scenario.cluster.quorum.writeQuorum, holds, (key, what) => oracle.violate(key, what));
  const workload = new Workload({ ...defaultWorkload, ...scenario.workload }, loop, rng.fork("workload"), oracle, trace, () => world.liveRouters(), { listings, multipart, buckets, readRepairs, ...(writeQuorums ? { writeQuorums } : {}) });
  let stopped = false;
  oracle.onViolation = (v) => {
    trace.add(`VIOLATION ${v.key}: ${v.what}`);
    stopped = true;
  };
  const stop = (): boolean => stopped;

  // Unhandled rejections from fire-and-forget work in the logic are failures of the run.
  const onRejection = (reason: unknown): void => loop.fail(reason);
  process.on("unhandledRejection", onRejection);
  try {
    trace.add(`run ${scenario.name} seed ${seed} logic ${options.logic.name}`);
    world.startAll();
    const faultRng = rng.fork("faults");
    let lastScheduledFaultMs = 0;
    const availability = new AvailabilityRule(world, scenario.availability, scenario.faultsEndMs, timing.heartbeatIntervalMs);
    oracle.availabilityRequired = (startMs, endMs) => availability.required(startMs, endMs);
    /** Reads every key written so far once, a few at a time, through a live router (checked like any read). */
    const readEveryKey = async (): Promise<void> => {
      const keys = Array.from({ length: oracle.keyCount() }, (_, i) => workload.keyName(i));
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < keys.length && !stopped) {
          const router = world.liveRouters()[0];
          if (router === undefined) return;
          await workload.run(router, "get", keys[next++]!);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    };
    scenario.faults({
      world,
      rng: faultRng,
      faultsEndMs: scenario.faultsEndMs,
      at: (atMs, action) => {
        if (atMs > scenario.faultsEndMs) return;
        loop.at(Math.max(0, atMs), action);
        lastScheduledFaultMs = Math.max(lastScheduledFaultMs, atMs);
      },
      expectAvailable: (fromMs, untilMs, label, options) => {
        availability.declare({ fromMs, untilMs, label });
        if (options?.readEveryKey) loop.at(fromMs, () => void readEveryKey());
      },
    });
    loop.at(scenario.faultsEndMs, () => world.healEverything());

    const series: { atMs: number; minReplicas: number }[] = [];
    const sampleEveryMs = options.sampleEveryMs ?? 5_000;
    // Full replication after the last fault: the first sample, after it, at which every key is fully replicated.
    let fullSinceFaultMs: number | null = null;
    let faultSeen = -1;
    const allKeys = (): string[] => Array.from({ length: oracle.keyCount() }, (_, i) => workload.keyName(i));
    const sample = (): void => {
      series.push({ atMs: loop.nowMs, minReplicas: world.minLiveReplicas((visit) => oracle.forEachAcked(visit)) });
      if (world.lastFaultMs !== faultSeen) {
        faultSeen = world.lastFaultMs;
        fullSinceFaultMs = null;
      }
      // Checked on every third sample only, and only once every scheduled fault has happened: the census of
      // every disk is the costliest thing the simulator does, and only the last fault's recovery is reported.
      if (fullSinceFaultMs === null && series.length % 3 === 0 && loop.nowMs >= lastScheduledFaultMs && world.replicationProblems(allKeys(), 1).length === 0) fullSinceFaultMs = loop.nowMs;
      loop.after(sampleEveryMs, sample);
    };
    loop.after(sampleEveryMs, sample);

    workload.start(scenario.loadMs);
    await loop.run({ untilMs: scenario.loadMs, stop });
    const settleEndMs = Math.max(scenario.loadMs, scenario.faultsEndMs) + scenario.settleMsMax;

    // Let in-flight client operations finish.
    if (!stopped && loop.failure === undefined) await loop.run({ untilMs: settleEndMs, stop: () => stopped || workload.idle });

    // Repair quiesces: check full replication every few simulated seconds.
    let convergedAtMs: number | null = null;
    while (!stopped && loop.failure === undefined && loop.nowMs < settleEndMs) {
      const problems = world.replicationProblems(allKeys(), 1);
      if (problems.length === 0) {
        convergedAtMs = loop.nowMs;
        break;
      }
      await loop.run({ untilMs: Math.min(settleEndMs, loop.nowMs + 2_000), stop });
    }
    if (!stopped && loop.failure === undefined && convergedAtMs === null) {
      for (const p of world.replicationProblems(allKeys(), 5)) oracle.violate(p.split("@")[0] ?? "?", `not fully replicated ${scenario.settleMsMax} ms after faults and load ended: ${p}`);
    }
    // Every ring change retires once its data has moved: a process left with an open transition writes to both
    // rings for ever and keeps the departed node's ring (checked against the processes, not the oracle's model).
    while (!stopped && loop.failure === undefined && world.openTransitions().length > 0 && loop.nowMs < settleEndMs) {
      await loop.run({ untilMs: Math.min(settleEndMs, loop.nowMs + 2_000), stop });
    }
    if (!stopped && loop.failure === undefined && world.openTransitions().length > 0) {
      oracle.violate("-", `ring change still open ${scenario.settleMsMax} ms after faults and load ended, on ${world.openTransitions().join(", ")}`);
    }
    if (!stopped && loop.failure === undefined) {
      const index = world.copyIndex();
      oracle.checkNothingLost((key) => index.get(key) ?? []);
    }
    // Read a sample of keys back through a router: every read must succeed and be current.
    if (!stopped && loop.failure === undefined) {
      const router = world.liveRouters()[0];
      const reads = Math.min(options.finalReads ?? 50, oracle.keyCount());
      const readRng = rng.fork("final-reads");
      if (router !== undefined) {
        for (let i = 0; i < reads && !stopped; i++) {
          const key = workload.keyName(readRng.nextInt(oracle.keyCount()));
          const token = oracle.readStarted(key);
          let outcome: Awaited<ReturnType<typeof router.get>> | undefined;
          void router.get(BUCKET, key).then((o) => (outcome = o));
          await loop.run({ untilMs: loop.nowMs + 60_000, stop: () => stopped || outcome !== undefined });
          if (outcome === undefined) oracle.violate(key, "final read did not finish within 60 s of simulated time");
          else if (!outcome.ok) oracle.violate(key, `final read failed on a healthy cluster: ${outcome.reason}`);
          else oracle.readEnded(token, outcome);
        }
      }
    }
    // List the whole bucket, flat and folded: every key acknowledged live must show, on a healthy cluster.
    for (const delimiter of ["", "/"]) {
      if (stopped || loop.failure !== undefined) break;
      let failure: string | undefined | null = null;
      void workload.listing({ prefix: "", delimiter, maxKeys: 1000, startAfter: "" }, Infinity).then((f) => (failure = f));
      await loop.run({ untilMs: loop.nowMs + 60_000, stop: () => stopped || failure !== null });
      if (failure === null) oracle.violate("-", `final listing (delimiter ${JSON.stringify(delimiter)}) did not finish within 60 s of simulated time`);
      else if (failure !== undefined) oracle.violate("-", `final listing (delimiter ${JSON.stringify(delimiter)}) failed on a healthy cluster: ${failure}`);
    }
    // Every completed multipart object reads back whole, every aborted upload's parts are gone.
    if (!stopped && loop.failure === undefined) {
      const router = world.liveRouters()[0];
      let done = false;
      if (router !== undefined) {
        void multipart.readBack(router, BUCKET).then(() => (done = true));
        await loop.run({ untilMs: loop.nowMs + 120_000, stop: () => stopped || done });
        if (!done && !stopped) oracle.violate("-", "final multipart read-back did not finish within 120 s of simulated time");
      }
    }
    if (loop.failure !== undefined) {
      const error = loop.failure;
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      trace.add(`FAILURE ${text}`);
      oracle.violations.push({ atMs: loop.nowMs, key: "-", what: `exception in the simulated world: ${text}${error instanceof Error && error.stack ? `\n${error.stack.split("\n").slice(1, 6).join("\n")}` : ""}` });
    }

    options.inspect?.(world);
    const wallMs = performance.now() - wallStart;
    const c = oracle.counts;
    const figures: RunFigures = {
      writesAcknowledged: c.putsAcked + c.deletesAcked,
      writesFailed: c.putsFailed + c.deletesFailed,
      writesDestroyedByFaults: c.writesDestroyedByFaults,
      deletesAcknowledged: c.deletesAcked,
      readsChecked: c.readsChecked,
      readsFailed: c.readsFailed,
      listingsChecked: listings.listingsChecked,
      listingsFailed: listings.listingsFailed,
      uploadsCompleted: multipart.uploadsCompleted,
      uploadsAborted: multipart.uploadsAborted,
      partsReadBack: multipart.partsReadBack,
      bucketsCreated: buckets.bucketsCreated,
      bucketsDeleted: buckets.bucketsDeleted,
      bucketDeletesRefusedNotEmpty: buckets.deletesRefusedNotEmpty,
      putsRefusedNoSuchBucket: buckets.putsRefusedNoBucket,
      bucketLeftoversSeen: buckets.leftoversSeen,
      readRepairsVerified: readRepairs.copiesVerified,
      readRepairsFailed: readRepairs.copiesFailed,
      faultsInjected: world.faultsInjected,
      simulatedMs: loop.nowMs,
      fullReplicationAfterFaultsMs: convergedAtMs === null ? null : Math.max(0, Math.min(convergedAtMs, fullSinceFaultMs ?? Infinity) - world.lastFaultMs),
      events: loop.eventsRun,
      wallMs,
      eventsPerSecond: Math.round(loop.eventsRun / (wallMs / 1000)),
      traceLines: trace.lineCount,
    };
    const ok = oracle.violations.length === 0;
    return {
      scenario: scenario.name,
      seed,
      ok,
      violations: oracle.violations,
      figures,
      traceHash: trace.digest(),
      traceTail: ok ? [] : trace.tailLines(),
      traceAll: trace.lines,
      series,
      faultMarks: world.faultMarks,
      requestsByKind: Object.fromEntries(world.network.byKind),
    };
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}
