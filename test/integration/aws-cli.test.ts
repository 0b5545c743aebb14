// The aws cli against `ringstore up`'s endpoint (HAProxy in front when installed): mb, cp both ways, head-object.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { hasProgram, requireProgram } from "./support/system-programs.ts";
import { awsCliEnv } from "./support/aws-cli.ts";

const runnable = requireProgram("aws", "the aws cli tests");
let cluster: TestCluster;
let workDir: string;

function aws(args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("aws", ["--endpoint-url", cluster.endpoint, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: awsCliEnv(cluster),
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(runnable)("the aws cli", () => {
  beforeAll(async () => {
    const haproxy = requireProgram("haproxy", "HAProxy in front of the routers");
    cluster = await startTestCluster({ basePort: 21200, haproxy });
    if (hasProgram("haproxy")) expect(cluster.frontedBy).toBe("haproxy");
    workDir = mkdtempSync(join(tmpdir(), "ringstore-awscli-"));
  });

  afterAll(async ({}, suite) => {
    await cluster?.cleanup(suite);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("aws s3 mb", () => {
    const mb = aws(["s3", "mb", "s3://cli-bucket"]);
    expect(mb.stderr).toBe("");
    expect(mb.status).toBe(0);
  });

  // 3 MiB goes up in one PUT; 20 MiB is above the cli's 8 MiB threshold, so it goes up in parts and
  // comes down in ranged GETs.
  for (const [label, size, etag] of [
    ["one PUT", 3 * 1024 * 1024 + 17, (content: Buffer) => `"${createHash("md5").update(content).digest("hex")}"`],
    ["multipart", 20 * 1024 * 1024 + 17, () => /^"[0-9a-f]{32}-3"$/],
  ] as const) {
    it(`aws s3 cp up and down (${label}), aws s3api head-object`, () => {
      const content = randomBytes(size);
      const source = join(workDir, `clip-${size}.mp4`);
      writeFileSync(source, content);
      const up = aws(["s3", "cp", source, `s3://cli-bucket/clips/${size}.mp4`]);
      expect(up.stderr).toBe("");
      expect(up.status).toBe(0);

      const head = aws(["s3api", "head-object", "--bucket", "cli-bucket", "--key", `clips/${size}.mp4`]);
      expect(head.status).toBe(0);
      const parsed = JSON.parse(head.stdout) as { ContentLength: number; ETag: string };
      expect(parsed.ContentLength).toBe(content.length);
      const expected = etag(content);
      if (typeof expected === "string") expect(parsed.ETag).toBe(expected);
      else expect(parsed.ETag).toMatch(expected);

      const target = join(workDir, `back-${size}.mp4`);
      const down = aws(["s3", "cp", `s3://cli-bucket/clips/${size}.mp4`, target]);
      expect(down.stderr).toBe("");
      expect(down.status).toBe(0);
      expect(readFileSync(target).equals(content)).toBe(true);
    });
  }

  // A bucket-to-bucket copy above the cli's 8 MiB threshold is a multipart upload of UploadPartCopy parts.
  it("aws s3 cp from a key to another (server-side, multipart copy)", () => {
    const size = 20 * 1024 * 1024 + 17;
    const copy = aws(["s3", "cp", `s3://cli-bucket/clips/${size}.mp4`, `s3://cli-bucket/copies/${size}.mp4`]);
    expect(copy.stderr).toBe("");
    expect(copy.status).toBe(0);
    const target = join(workDir, `copy-${size}.mp4`);
    const down = aws(["s3", "cp", `s3://cli-bucket/copies/${size}.mp4`, target]);
    expect(down.status).toBe(0);
    expect(readFileSync(target).equals(readFileSync(join(workDir, `clip-${size}.mp4`)))).toBe(true);
  });
});
