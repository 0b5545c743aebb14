// Invariant assertions. An assertion that fires in the simulator is a bug found; one that fires in
// production stops a wrong write before it spreads. They are never used for input validation:
// bad input from a client or an operator gets a typed error, not an exception.

export class AssertionError extends Error {
  override name = "AssertionError";
}

/** `message` may be a function, so hot paths do not format a message on every call that holds. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "string" ? message : message());
}

export function unreachable(value: never, message = "unreachable"): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
