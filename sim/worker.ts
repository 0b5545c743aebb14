// A worker process of the multi-seed pool: runs the seeds its parent sends, one at a time, and sends back
// each seed's summary. Started by sim/pool.ts with `node --import tsx sim/worker.ts`.

import { loadLogic, loadScenario } from "./load-scenario.ts";
import { runSeed } from "./run.ts";
import { summarize, type WorkerRequest } from "./pool.ts";
import { withProfile } from "./scenario.ts";


process.on("message", (raw) => {
  const request = raw as WorkerRequest;
  if (request.kind === "stop") process.exit(0);
  void (async () => {
    const scenario = withProfile(await loadScenario(request.scenarioPath), request.profile);
    const logic = await loadLogic(request.logic);
    const result = await runSeed(scenario, request.seed, { logic, bugs: request.bugs });
    process.send!({ kind: "result", summary: summarize(result) });
  })().catch((error: unknown) => {
    process.send!({ kind: "error", seed: request.seed, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
process.send!({ kind: "ready" });
