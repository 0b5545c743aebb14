// What a scenario is: a cluster, a workload, and a fault program over simulated time.
// Guarantees: a scenario is plain data plus one function; the same seed gives the fault program the same
// RNG stream, so the faults, like everything else, are a function of the seed.
// Assumes: fault actions are the World's (sim/world.ts); faults scheduled after faultsEndMs are ignored,
// and at faultsEndMs the world is healed so repair can quiesce.

import type { AvailabilitySettings } from "./availability.ts";
import type { DiskSettings } from "./disk.ts";
import type { NetworkSettings } from "./network.ts";
import type { SimRng } from "./rng.ts";
import type { TimingSettings } from "./timing.ts";
import type { WorkloadSettings } from "./workload.ts";
import type { ClusterSettings, World } from "./world.ts";

export interface FaultProgram {
  readonly world: World;
  readonly rng: SimRng;
  /** When faults must be over (the scenario's faultsEndMs, or its CI profile's): place faults relative to it. */
  readonly faultsEndMs: number;
  /** Run `action` at virtual time atMs (ignored if atMs is after the scenario's faultsEndMs). */
  at(atMs: number, action: () => void): void;
  /**
   * Every read and write that starts and ends in [fromMs, untilMs] must succeed (sim/availability.ts); with
   * readEveryKey, every key written so far is read once through a router when the window opens.
   */
  expectAvailable(fromMs: number, untilMs: number, label: string, options?: { readonly readEveryKey?: boolean }): void;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly cluster: ClusterSettings;
  readonly workload?: Partial<WorkloadSettings>;
  readonly network?: Partial<NetworkSettings>;
  readonly disk?: Partial<DiskSettings>;
  readonly timing?: Partial<TimingSettings>;
  /** Clients send requests from 0 to loadMs. */
  readonly loadMs: number;
  /** Faults happen in [0, faultsEndMs]; then everything heals. */
  readonly faultsEndMs: number;
  /** After load and faults end, how long repair may take to reach full replication. */
  readonly settleMsMax: number;
  faults(program: FaultProgram): void;
  /** Opt in to the availability invariant with at most nodesDownMax nodes down (sim/availability.ts). */
  readonly availability?: AvailabilitySettings;
  /** A lighter profile for CI (npm test runs 100+ seeds of every scenario): overrides of the above. */
  readonly ci?: ScenarioProfile;
}

export interface ScenarioProfile {
  readonly keyCount?: number;
  readonly opsPerSecond?: number;
  readonly loadMs?: number;
  readonly faultsEndMs?: number;
  readonly settleMsMax?: number;
}

export type ProfileName = "full" | "ci";

/** The scenario as run under a profile: "full" is the scenario itself; "ci" applies its ci overrides. */
export function withProfile(s: Scenario, profile: ProfileName): Scenario {
  if (profile === "full" || s.ci === undefined) return s;
  const ci = s.ci;
  return {
    ...s,
    workload: { ...s.workload, ...(ci.keyCount !== undefined ? { keyCount: ci.keyCount } : {}), ...(ci.opsPerSecond !== undefined ? { opsPerSecond: ci.opsPerSecond } : {}) },
    loadMs: ci.loadMs ?? s.loadMs,
    faultsEndMs: ci.faultsEndMs ?? s.faultsEndMs,
    settleMsMax: ci.settleMsMax ?? s.settleMsMax,
  };
}

export function defineScenario(s: Scenario): Scenario {
  if (s.faultsEndMs > s.loadMs) throw new Error(`${s.name}: faults must end (${s.faultsEndMs}) by the end of load (${s.loadMs})`);
  return s;
}
