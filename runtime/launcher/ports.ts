// Checks that the ports a cluster needs are free before anything starts, so that a stale process from an
// earlier run is reported instead of silently answering in place of the new cluster.
import { createServer } from "node:net";

export async function portsInUse(host: string, ports: readonly number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  return busy;
}
