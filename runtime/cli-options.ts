// Option parsers shared by the command lines (runtime/cli.ts, sim/cli.ts, sim/soak.ts).

import { InvalidArgumentError } from "commander";

/** An option parser for an integer in min..max; anything else is a usage error. Number("") is 0, so empty is refused first. */
export function integer(name: string, min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

/** An integer from the environment, checked by the same parser as the flags; absent means `fallback`. */
export function integerFromEnv(name: string, min: number, max: number, fallback: number): number {
  const value = process.env[name];
  return value === undefined ? fallback : integer(name, min, max)(value);
}
