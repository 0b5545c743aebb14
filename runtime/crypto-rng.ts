// The runtime's Rng port: the operating system's randomness (node:crypto). Only for choices that need no
// reproducibility (jitter); the simulator gives core a seeded stream instead.
import { randomInt } from "node:crypto";
import type { Rng } from "../core/ports.ts";

const FLOAT_STEPS = 2 ** 47; // randomInt's range must stay below 2^48

export const cryptoRng: Rng = {
  nextFloat: () => randomInt(0, FLOAT_STEPS) / FLOAT_STEPS,
  nextInt: (maxExclusive) => randomInt(0, maxExclusive),
};
