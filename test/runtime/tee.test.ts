// runtime/router/tee.ts: a branch that goes away never holds the others back.
import { PassThrough, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { StreamTee, TEE_BRANCH_HIGH_WATER_BYTES } from "../../runtime/router/tee.ts";

const CHUNK = 64 * 1024;

/** A source of `chunks` chunks of CHUNK bytes. */
function source(chunks: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      this.push(sent++ < chunks ? Buffer.alloc(CHUNK, sent & 0xff) : null);
    },
  });
}

/** Reads a branch to its end; resolves with the bytes counted, or the error. */
function drain(branch: Readable): Promise<number | Error> {
  return new Promise((resolve) => {
    let bytes = 0;
    branch.on("data", (c: Buffer) => (bytes += c.length));
    branch.once("end", () => resolve(bytes));
    branch.once("error", (e) => resolve(e));
  });
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | "timeout"> => Promise.race([p, new Promise<"timeout">((done) => setTimeout(() => done("timeout"), ms))]);

describe("StreamTee", () => {
  it("a branch destroyed while it holds the source back does not stall the others", async () => {
    const chunks = Math.ceil((4 * TEE_BRANCH_HIGH_WATER_BYTES) / CHUNK);
    const tee = new StreamTee(source(chunks));
    const stuck = tee.branch(); // never read: fills up and holds the source back
    const reader = tee.branch();
    const read = drain(reader);
    await new Promise((done) => setTimeout(done, 50));
    expect(stuck.readableLength).toBeGreaterThan(0);
    stuck.destroy();
    expect(await withTimeout(read, 2000)).toBe(chunks * CHUNK);
  });

  it("two branches holding the source back, one drains and one is destroyed: the body goes on", async () => {
    const chunks = Math.ceil((4 * TEE_BRANCH_HIGH_WATER_BYTES) / CHUNK);
    const tee = new StreamTee(source(chunks));
    const stuck = tee.branch();
    const late = tee.branch();
    await new Promise((done) => setTimeout(done, 50));
    const read = drain(late); // starts reading only after both were full
    stuck.destroy();
    expect(await withTimeout(read, 2000)).toBe(chunks * CHUNK);
  });

  it("a source destroyed without an error fails every branch, so no replica waits for the rest", async () => {
    const body = new PassThrough();
    const tee = new StreamTee(body);
    const a = drain(tee.branch());
    const b = drain(tee.branch());
    await new Promise((done) => setImmediate(done));
    body.write(Buffer.alloc(1000));
    body.destroy();
    const [ra, rb] = await Promise.all([withTimeout(a, 1000), withTimeout(b, 1000)]);
    expect(ra).toBeInstanceOf(Error);
    expect(rb).toBeInstanceOf(Error);
  });

  it("the slowest branch sets the pace: bytes buffered stay bounded", async () => {
    const chunks = 200;
    const tee = new StreamTee(source(chunks));
    const fast = drain(tee.branch());
    let slowBytes = 0;
    let maxAhead = 0;
    const slow = tee.branch();
    const done = new Promise<void>((resolve) =>
      slow.pipe(
        new Writable({
          highWaterMark: CHUNK,
          write(chunk: Buffer, _e, cb) {
            slowBytes += chunk.length;
            maxAhead = Math.max(maxAhead, slow.readableLength);
            setTimeout(cb, 1);
          },
          final(cb) {
            resolve();
            cb();
          },
        }),
      ),
    );
    await done;
    expect(await fast).toBe(chunks * CHUNK);
    expect(slowBytes).toBe(chunks * CHUNK);
    // A branch holds at most its readable and its writable buffer, a highWaterMark each, plus the chunk in hand.
    expect(maxAhead).toBeLessThanOrEqual(2 * TEE_BRANCH_HIGH_WATER_BYTES + CHUNK);
  });
});
