// The router's status page in headless Chromium (playwright-core driving Debian's /usr/bin/chromium), against a
// real cluster: what the page draws and lists (nodes, partitions per node in the SVG ring, liveness) is what
// /-/status.json says; a node killed shows as down after the page's own refresh; the token opens it by header,
// by a ?token= link (which becomes a cookie) and not otherwise; strings from the JSON are shown, never parsed.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../../runtime/router/status-report.ts";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { requireProgram } from "./support/system-programs.ts";

const runnable = requireProgram("chromium", "the status page test");
/** The flags this machine needs (no network beyond loopback); playwright adds --headless and a fresh profile. */
const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
let cluster: TestCluster;
let browser: Browser;
let token: string;

async function statusJson(): Promise<StatusReport> {
  const answer = await fetch(`${cluster.endpoint}/-/status.json`, { headers: { Authorization: `Bearer ${token}` } });
  expect(answer.status).toBe(200);
  return (await answer.json()) as StatusReport;
}

describe.runIf(runnable)("the status page", () => {
  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 25500, nodes: 4, routers: 1, partitionBits: 6 });
    token = readFileSync(join(cluster.dataDir, "metrics-token"), "utf8").trim();
    const s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: "status" }));
    for (let i = 0; i < 20; i++) await s3.send(new PutObjectCommand({ Bucket: "status", Key: `clip-${i}`, Body: Buffer.alloc(10_000, i) }));
    s3.destroy();
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  }, 90_000);

  afterAll(async ({}, suite) => {
    await browser?.close();
    await cluster?.cleanup(suite);
  });

  it("opens with the token only: bearer or ?token= (then a cookie, and the token leaves the URL)", async () => {
    for (const path of ["/-/status", "/-/status.json", "/-/status?token=wrong"]) expect((await fetch(`${cluster.endpoint}${path}`, { redirect: "manual" })).status).toBe(403);
    expect((await fetch(`${cluster.endpoint}/-/status.json`, { headers: { Cookie: "ringstore_operator=wrong" } })).status).toBe(403);
    const entry = await fetch(`${cluster.endpoint}/-/status?token=${token}`, { redirect: "manual" });
    expect(entry.status).toBe(303);
    expect(entry.headers.get("location")).toBe("/-/status");
    const cookie = entry.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=strict/i);
    expect(cookie).toMatch(/path=\/-\//i);
    const page = await fetch(`${cluster.endpoint}/-/status`, { headers: { Cookie: cookie.split(";")[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    // Nothing in the page's script turns data into markup.
    expect(await page.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    // The access log never shows the token.
    expect(readFileSync(join(cluster.dataDir, "logs", "router-1.log"), "utf8")).not.toContain(token);
  });

  it("shows what /-/status.json says; a killed node is down after the page refreshes", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    try {
      await page.goto(`${cluster.endpoint}/-/status?token=${token}`);
      expect(page.url()).toBe(`${cluster.endpoint}/-/status`);
      await page.waitForSelector("#nodes tr[data-node]");
      const json = await statusJson();
      expect(json.nodes).toHaveLength(4);
      // Every primary slot is drawn: per node, the arcs' partitions add up to the JSON's count.
      const drawn = await page.$$eval("#ring path[data-node]", (arcs) => arcs.map((a) => [a.getAttribute("data-node"), Number(a.getAttribute("data-partitions"))] as const));
      const drawnPerNode = new Map<string, number>();
      for (const [node, count] of drawn) drawnPerNode.set(node!, (drawnPerNode.get(node!) ?? 0) + count);
      expect(Object.fromEntries(drawnPerNode)).toEqual(Object.fromEntries(json.nodes.map((n) => [n.id, n.partitions])));
      expect([...drawnPerNode.values()].reduce((a, b) => a + b, 0)).toBe(64 * 3);
      const rows = await page.$$eval("#nodes tr[data-node]", (trs) => trs.map((tr) => ({ node: tr.getAttribute("data-node"), live: tr.getAttribute("data-live"), cells: [...tr.querySelectorAll("td")].map((td) => td.textContent) })));
      expect(rows.map((r) => r.node).sort()).toEqual(json.nodes.map((n) => n.id).sort());
      for (const row of rows) {
        const node = json.nodes.find((n) => n.id === row.node)!;
        expect(row.live).toBe("up");
        expect(row.cells[5]).toBe(String(node.partitions));
        expect(row.cells[6]).toBe(String(node.health?.behindPartitions));
      }
      expect(await page.textContent("#banner")).toContain("settled");
      const screenshot = process.env.RINGSTORE_STATUS_SCREENSHOT ?? join(cluster.dataDir, "status-page.png");
      mkdirSync(dirname(screenshot), { recursive: true });
      expect((await page.screenshot({ path: screenshot, fullPage: true })).length).toBeGreaterThan(10_000);

      const victim = cluster.process("node-4");
      process.kill(victim.pid!, "SIGKILL");
      await page.waitForSelector('#nodes tr[data-node="node-4"][data-live="down"]', { timeout: 20_000 });
      const after = await eventually(async () => {
        const report = await statusJson();
        const node4 = report.nodes.find((n) => n.id === "node-4")!;
        return node4.health === null ? report : undefined;
      }, { timeoutMs: 10_000, what: "status.json shows node-4 not answering" });
      expect(after.pending.nodesNotAnswering).toBe(1);
      expect(await page.textContent("#banner")).toContain("down: node-4");
      expect(await page.getAttribute('#nodes tr[data-node="node-1"]', "data-live")).toBe("up");
      // Its arcs are drawn faded, still counted.
      expect(await page.$$eval('#ring path[data-node="node-4"]', (arcs) => arcs.every((a) => a.getAttribute("fill-opacity") === "0.25"))).toBe(true);
      if (process.env.RINGSTORE_STATUS_SCREENSHOT_DOWN) await page.screenshot({ path: process.env.RINGSTORE_STATUS_SCREENSHOT_DOWN, fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("shows markup in the data as text: node ids, zones and warning lines never become elements", async () => {
    const page = await browser.newPage();
    try {
      const real = await statusJson();
      const hostile = '<img src=x id="injected" onerror="document.title=1"><script>window.injected=1</script>';
      const forged: StatusReport = {
        ...real,
        nodes: real.nodes.map((n, i) => (i === 0 ? { ...n, id: hostile as StatusReport["nodes"][number]["id"], zone: hostile } : n)),
        warnings: [{ time: "2026-01-01T00:00:00Z", level: "warn", event: "s3.put-failed", detail: JSON.stringify({ key: hostile }) }],
      };
      await page.route("**/-/status.json", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(forged) }));
      await page.goto(`${cluster.endpoint}/-/status?token=${token}`);
      await page.waitForSelector("#warnings li");
      expect(await page.$("#injected")).toBeNull();
      expect(await page.evaluate(() => (globalThis as unknown as { injected?: number }).injected)).toBeUndefined();
      expect(await page.textContent("#warnings")).toContain("<img src=x");
      expect(await page.textContent("#nodes")).toContain("<script>window.injected=1</script>");
    } finally {
      await page.close();
    }
  });
});
