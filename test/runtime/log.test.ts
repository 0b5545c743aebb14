// The runtime's logs: --pretty lines for a terminal, the status page's ring of recent warnings (redacted like
// the log itself), and the start marker each launch appends to a process's log file.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startChild } from "../../runtime/launcher/processes.ts";
import { createLog } from "../../runtime/log.ts";
import { RecentWarnings } from "../../runtime/recent-warnings.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ringstore-log-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Logs through createLog into a file and returns what it holds once the log is flushed. */
async function logInto(options: { pretty?: boolean; recent?: RecentWarnings }, write: (log: ReturnType<typeof createLog>) => void): Promise<string> {
  const path = join(tempDir(), "out.log");
  const fd = openSync(path, "w");
  try {
    write(createLog({ role: "router", id: "router-9" }, { destination: fd, ...options }));
    await new Promise((done) => setTimeout(done, 200)); // the JSON destination writes asynchronously
  } finally {
    closeSync(fd);
  }
  return readFileSync(path, "utf8");
}

describe("logs", () => {
  it("--pretty writes one readable line per event instead of JSON", async () => {
    const text = await logInto({ pretty: true }, (log) => log.info("router.started", { port: 9000 }));
    expect(text).not.toMatch(/^\{/);
    expect(text).toContain("router.started");
    expect(text).toMatch(/INFO/);
    expect(text).toMatch(/port: 9000/);
    const json = await logInto({}, (log) => log.info("router.started", { port: 9000 }));
    expect(JSON.parse(json.split("\n")[0]!)).toMatchObject({ event: "router.started", port: 9000, role: "router" });
  });

  it("keeps the last warnings and errors, redacted as the log is, and nothing below warn", async () => {
    const recent = new RecentWarnings(3);
    const text = await logInto({ recent }, (log) => {
      log.info("s3.access", { url: "/a" });
      log.warn("bucket.record-unreadable", { bucket: "media", secret: "hunter2", headers: { authorization: "AWS4 sig" } });
      for (let i = 0; i < 4; i++) log.error("repair.round-failed", { round: i });
    });
    expect(text).toContain("s3.access");
    expect(text).not.toContain("hunter2");
    expect(recent.seenTotal).toBe(5);
    const lines = recent.list();
    expect(lines.map((l) => l.event)).toEqual(["repair.round-failed", "repair.round-failed", "repair.round-failed"]);
    expect(lines.map((l) => JSON.parse(l.detail).round)).toEqual([1, 2, 3]);
    const one = new RecentWarnings();
    await logInto({ recent: one }, (log) => log.warn("bucket.record-unreadable", { bucket: "media", secret: "hunter2", headers: { authorization: "AWS4 sig" } }));
    expect(one.list()).toHaveLength(1);
    expect(one.list()[0]!.level).toBe("warn");
    expect(one.list()[0]!.detail).not.toContain("hunter2");
    expect(one.list()[0]!.detail).not.toContain("AWS4 sig");
    expect(one.list()[0]!.detail).toContain("REDACTED");
  });

  it("each start of a process appends a marker line to its log file", async () => {
    const path = join(tempDir(), "logs", "node-1.log");
    for (const word of ["first", "second"]) {
      const { child } = startChild(["/bin/sh", "-c", `echo ${word}`], path);
      await new Promise((done) => child.once("exit", done));
      await new Promise((done) => setTimeout(done, 100));
    }
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    const markers = [lines[0]!, lines[2]!].map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const marker of markers) expect(marker).toMatchObject({ level: 30, role: "launcher", event: "launcher.process-started" });
    expect(markers[0]!.pid).not.toBe(markers[1]!.pid);
    expect([lines[1], lines[3]]).toEqual(["first", "second"]);
  });
});
