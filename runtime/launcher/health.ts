// Polls a health URL until it answers 200, with a deadline; never a fixed sleep.
export async function waitForHealthy(url: string, options: { timeoutMs: number; exited: () => boolean; what: string; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  for (;;) {
    if (options.exited()) throw new Error(`${options.what} exited before it became healthy`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    }
    if (Date.now() > deadline) throw new Error(`${options.what} did not become healthy at ${url} within ${options.timeoutMs} ms (last: ${last})`);
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 100));
  }
}
