// runtime/router/resuming-body.ts: a body that breaks midway goes on from another source at the same byte.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { nodeId } from "../../core/ids.ts";
import { resumingBody } from "../../runtime/router/resuming-body.ts";

const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));

/** The bytes [from, to) of `body`, in chunks of 1000, failing after `failAfter` bytes when given. */
function source(from: number, to: number, failAfter?: number): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let at = from; at < to; at += 1000) {
      if (failAfter !== undefined && at - from >= failAfter) throw new Error("block failed its check");
      yield body.subarray(at, Math.min(to, at + 1000));
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("resumingBody", () => {
  it("splices the rest from the next source at the first byte not delivered", async () => {
    const asked: [number, string[]][] = [];
    const out = resumingBody({ body: source(0, body.length, 3000), from: nodeId("a") }, body.length, async (delivered, failed) => {
      asked.push([delivered, [...failed]]);
      return delivered === 3000 ? { body: source(3000, body.length, 4000), from: nodeId("b") } : { body: source(delivered, body.length), from: nodeId("c") };
    });
    expect((await collect(out)).equals(body)).toBe(true);
    expect(asked).toEqual([
      [3000, ["a"]],
      [7000, ["a", "b"]],
    ]);
  });

  it("a source that ends short without an error is resumed, not taken for the end", async () => {
    const out = resumingBody({ body: source(0, 5000), from: nodeId("a") }, body.length, async (delivered) => ({ body: source(delivered, body.length), from: nodeId("b") }));
    expect((await collect(out)).equals(body)).toBe(true);
  });

  it("fails, naming the causes, only when no source can continue", async () => {
    const out = resumingBody({ body: source(0, body.length, 2000), from: nodeId("a") }, body.length, async () => ({ failed: "no replica left" }));
    await expect(collect(out)).rejects.toThrow(/after 2000 of 10000 B.*no replica left.*block failed its check/);
  });
});
