// runtime/transport/progress-deadline.ts: a receiver that takes no bytes is cut; a slow sender never is.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { watchProgress } from "../../runtime/transport/progress-deadline.ts";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("watchProgress", () => {
  it("fires once bytes wait and the receiver has taken none for the timeout", async () => {
    const source = new PassThrough();
    let stalledAt = 0;
    const watch = watchProgress(source, 200, () => (stalledAt = Date.now()));
    const started = Date.now();
    // Nobody reads watch.stream: its buffer fills and the writes wait.
    for (let i = 0; i < 64; i++) source.write(Buffer.alloc(16 * 1024));
    await sleep(600);
    watch.stop();
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt - started).toBeLessThan(500);
  });

  it("never fires for a sender that is slow while the receiver keeps up", async () => {
    const source = new PassThrough();
    let stalled = false;
    const watch = watchProgress(source, 100, () => (stalled = true));
    watch.stream.resume();
    for (let i = 0; i < 5; i++) {
      source.write(Buffer.alloc(1024));
      await sleep(80);
    }
    await sleep(200); // a pause longer than the timeout, with nothing to send
    source.end();
    await new Promise((done) => watch.stream.once("end", done));
    watch.stop();
    expect(stalled).toBe(false);
  });

  it("passes every byte on unchanged", async () => {
    const source = new PassThrough();
    const watch = watchProgress(source, 1000, () => {});
    const chunks: Buffer[] = [];
    watch.stream.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((done) => watch.stream.once("end", done));
    source.end(Buffer.from("hello, replica"));
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe("hello, replica");
  });
});
