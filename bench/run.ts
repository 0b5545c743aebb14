// `npm run bench -- <name> [options]`: runs one benchmark program (or all) and writes its report under
// reports/bench/. Options after the name are that benchmark's own (`npm run bench -- s3 --help`).
const benches: Record<string, (argv: readonly string[]) => Promise<void>> = {
  ring: async () => (await import("./ring.ts")).main(),
  s3: async (argv) => (await import("./s3.ts")).main(argv),
  sim: async () => (await import("./sim.ts")).main(),
};

const [first, ...rest] = process.argv.slice(2);
const named = first !== undefined && !first.startsWith("-");
const names = named ? [first] : Object.keys(benches);
const argv = named ? rest : process.argv.slice(2);
// Every benchmark stops its own cluster; exit even if a pooled connection lingers.
process.on("beforeExit", () => process.exit());
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark ${JSON.stringify(name)}; known: ${Object.keys(benches).join(", ")}`);
    process.exit(2);
  }
  await bench(name === "s3" ? argv : []);
}
