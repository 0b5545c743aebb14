// HAProxy's own figures, enabled in the config `ringstore up` generates: its Prometheus exporter (/metrics) and
// stats page (/stats) on 127.0.0.1 at their own port, moving with S3 traffic through HAProxy.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haproxyConfig } from "../../runtime/launcher/haproxy.ts";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { requireProgram } from "./support/system-programs.ts";
import { sample } from "./support/metrics.ts";

const runnable = requireProgram("haproxy", "HAProxy's stats and Prometheus exporter");
let cluster: TestCluster;

describe("generated HAProxy config", () => {
  it("binds the stats frontend to 127.0.0.1 whatever the S3 bind address", () => {
    const config = haproxyConfig({ bindHost: "0.0.0.0", bindPort: 9000, statsPort: 9199, routers: [{ id: "router-1", host: "10.0.0.5", port: 9200 }] });
    expect(config).toContain("    bind 0.0.0.0:9000");
    expect(config).toContain("    bind 127.0.0.1:9199");
    expect(config).toContain("http-request use-service prometheus-exporter if { path /metrics }");
    expect(config).toContain("stats uri /stats");
    expect(haproxyConfig({ bindHost: "0.0.0.0", bindPort: 9000, routers: [] })).not.toContain("frontend stats");
  });
});

describe.runIf(runnable)("HAProxy's stats and Prometheus exporter", () => {
  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 25850, nodes: 3, routers: 2, haproxy: true });
  }, 90_000);

  afterAll(async ({}, suite) => {
    await cluster?.cleanup(suite);
  });

  it("are on their own port of 127.0.0.1 and count the S3 requests that went through", async () => {
    expect(cluster.frontedBy).toBe("haproxy");
    const stats = cluster.haproxyStats!;
    expect(stats.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(readFileSync(join(cluster.dataDir, "haproxy.cfg"), "utf8")).toContain(`bind 127.0.0.1:${new URL(stats.metrics).port}`);
    const scrape = async () => {
      const answer = await fetch(stats.metrics);
      expect(answer.status).toBe(200);
      return answer.text();
    };
    const before = await scrape();
    expect(sample(before, "haproxy_server_status", { proxy: "routers" })).toBeGreaterThanOrEqual(2);
    const s3 = cluster.client();
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "through-haproxy" }));
      for (let i = 0; i < 10; i++) await s3.send(new PutObjectCommand({ Bucket: "through-haproxy", Key: `k${i}`, Body: "x" }));
    } finally {
      s3.destroy();
    }
    const after = await scrape();
    const requests = (text: string) => sample(text, "haproxy_frontend_http_requests_total", { proxy: "s3" });
    expect(requests(after) - requests(before)).toBeGreaterThanOrEqual(11);
    expect(sample(after, "haproxy_backend_http_responses_total", { proxy: "routers", code: "2xx" }) - sample(before, "haproxy_backend_http_responses_total", { proxy: "routers", code: "2xx" })).toBeGreaterThanOrEqual(11);
    const page = await fetch(stats.page);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("router-1");
    expect(html).toContain("router-2");
    if (process.env.RINGSTORE_METRICS_DUMP) (await import("node:fs")).writeFileSync(join(process.env.RINGSTORE_METRICS_DUMP, "haproxy.prom"), after);
  });
});
