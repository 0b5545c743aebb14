// `npx tsx sim <scenario> --seed N`: the directory form of sim/cli.ts.
import { main } from "./cli.ts";

process.exitCode = await main(process.argv.slice(2));
