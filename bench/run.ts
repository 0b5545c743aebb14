// `npm run bench -- <name>`: runs one benchmark program (or all) and writes its report under reports/bench/.
const benches: Record<string, () => Promise<void>> = {
  ring: async () => (await import("./ring.ts")).main(),
  s3: async () => (await import("./s3.ts")).main(),
  sim: async () => (await import("./sim.ts")).main(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const names = wanted.length > 0 ? wanted : Object.keys(benches);
// Every benchmark stops its own cluster; exit even if a pooled connection lingers.
process.on("beforeExit", () => process.exit(0));
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark ${JSON.stringify(name)}; known: ${Object.keys(benches).join(", ")}`);
    process.exit(2);
  }
  await bench();
}
