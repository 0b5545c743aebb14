// What the router writes to its log, at debug level: one access line per S3 request with its outcome, no
// line for health checks, a client that leaves mid-download at info, and never a signature or a secret.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, eventually, startTestCluster } from "./support/cluster.ts";
import { NodeSha256, presignV4 } from "./support/raw-s3.ts";

let cluster: TestCluster;
let s3: S3Client;

beforeAll(async () => {
  process.env.RINGSTORE_LOG_LEVEL = "debug";
  try {
    cluster = await startTestCluster({ basePort: 23700, nodes: 3, routers: 1 });
  } finally {
    delete process.env.RINGSTORE_LOG_LEVEL;
  }
  s3 = cluster.client();
  await s3.send(new CreateBucketCommand({ Bucket: "logs" }));
  await s3.send(new PutObjectCommand({ Bucket: "logs", Key: "big.bin", Body: Buffer.alloc(32 * 1024 * 1024, 1) }));
});

afterAll(async ({}, suite) => {
  s3?.destroy();
  await cluster?.cleanup(suite);
});

const routerLog = () => readFileSync(cluster.process("router-1").log, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);

describe("router logs", () => {
  it("carry no signature or secret, one access line per request, nothing for health checks, and a client abort at info", async () => {
    const url = new URL(cluster.endpoint);
    const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: { accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey }, sha256: NodeSha256, uriEscapePath: false });
    const presigned = await presignV4(cluster, "GET", "/logs/missing.bin");
    const signature = new URL(presigned).searchParams.get("X-Amz-Signature")!;
    expect((await fetch(presigned)).status).toBe(404);
    for (let i = 0; i < 3; i++) expect((await fetch(`${cluster.endpoint}/-/health`)).status).toBe(200);
    // A download the client abandons after its first bytes.
    const signed = await signer.sign({ method: "GET", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/logs/big.bin", headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: "/logs/big.bin", headers: signed.headers as Record<string, string> }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => resolve());
      req.end();
    });
    const lines = await eventually(async () => {
      const all = routerLog();
      return all.some((l) => l.event === "s3.access" && String(l.url).startsWith("/logs/big.bin")) ? all : undefined;
    }, { timeoutMs: 10_000, what: "the access line of the abandoned download" });
    const text = lines.map((l) => JSON.stringify(l)).join("\n");
    expect(text).not.toContain(signature);
    expect(text).not.toContain(cluster.secretAccessKey);
    expect(lines.filter((l) => l.event === "s3.access" && String(l.url).startsWith("/logs/missing.bin"))).toEqual([expect.objectContaining({ status: 404, method: "GET" })]);
    expect(lines.some((l) => String(l.url ?? "").includes("/-/health") || String(l.path ?? "").includes("/-/health"))).toBe(false);
    const errors = lines.filter((l) => (l.level as number) >= 50 && l.event !== "node.unreachable");
    expect(errors).toEqual([]);
  });
});
