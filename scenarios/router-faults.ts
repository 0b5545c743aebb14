// Routers fail too: routers crash with requests in flight (their clients see the connection reset; bodies may
// sit on some replicas, pending or committed) and restart; ring changes reach one router from the operator and
// the others only by gossip, so routers route by different maps while a change spreads; nodes crash among them.
// Nothing acknowledged may be lost, no read may go back in time, and every ring change must be retired.

import { defineScenario } from "../sim/scenario.ts";

export default defineScenario({
  name: "router-faults",
  description: "Routers crash mid-request and restart; joins and a decommission reach the routers one by one; node crashes.",
  cluster: { nodes: 5, zones: 3, routers: 3, partitionBits: 5, quorum: { replicas: 3, writeQuorum: 2, readQuorum: 2 } },
  workload: { keyCount: 1_000, opsPerSecond: 16 },
  loadMs: 6 * 60_000,
  faultsEndMs: 6 * 60_000,
  settleMsMax: 6 * 60_000,
  ci: { keyCount: 200, opsPerSecond: 10, loadMs: 80_000, faultsEndMs: 80_000, settleMsMax: 240_000 },
  faults({ world, rng, at, faultsEndMs }) {
    world.mapToOneRouter = true;
    // One join early and a decommission later, each spreading from one router to the others by gossip.
    at(rng.between(0.1, 0.3) * faultsEndMs, () => {
      world.join();
    });
    at(rng.between(0.5, 0.7) * faultsEndMs, () => {
      const active = world.adminMap.nodes.filter((n) => n.state === "active").map((n) => n.id);
      if (active.length > 4) world.decommission(rng.pick(active));
    });
    let t = rng.between(0.02, 0.06) * faultsEndMs;
    for (let n = 0; t < 0.85 * faultsEndMs; n++) {
      const lastMs = Math.min(rng.between(1_000, 20_000), 0.93 * faultsEndMs - t);
      // Every other fault is a router crash, so each seed sees several.
      if (n % 2 === 0) {
        // Mid-request: 0–2.5 ms after a request begins (a small request takes about two round trips of 0.5 ms
        // each): in its put, commit or read phase, or just after it.
        const router = rng.pick(world.routerIds());
        at(t, () => world.crashMidRequest(router, rng.between(0, 2.5), lastMs));
      } else {
        const node = rng.pick(world.nodeIds());
        at(t, () => world.crash(node));
        at(t + lastMs, () => world.restart(node));
      }
      t += lastMs + rng.between(1_000, 8_000);
    }
  },
});
