// The tools people point at an object store, as they ship in Debian: s3cmd and rclone, against a real
// cluster. Before the explicit dispatch table and the listing fix, `s3cmd info` downloaded the object (GET
// ?acl was served as GetObject) and `rclone lsd` / `rclone check` hung on a delimiter listing.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { requireProgram } from "./support/system-programs.ts";
import { type ProgramRun, runProgram } from "./support/run-program.ts";

const hasS3cmd = requireProgram("s3cmd", "the s3cmd tests");
const hasRclone = requireProgram("rclone", "the rclone tests");
let cluster: TestCluster;
let work: string;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: Buffer): Promise<ProgramRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // rclone 1.60's AWS SDK refuses any custom CA bundle with its own transport; the endpoint is plain http.
  if (command === "rclone") delete childEnv.AWS_CA_BUNDLE;
  return runProgram(command, args, { env: childEnv, ...(input ? { input } : {}) });
}

beforeAll(async () => {
  if (!hasS3cmd && !hasRclone) return;
  cluster = await startTestCluster({ basePort: 23600, nodes: 3, routers: 1 });
  work = mkdtempSync(join(tmpdir(), "ringstore-clients-"));
});

afterAll(async ({}, suite) => {
  await cluster?.cleanup(suite);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.runIf(hasS3cmd)("s3cmd", () => {
  const s3cmd = (...args: string[]) => {
    const host = new URL(cluster.endpoint).host;
    const config = join(work, "s3cmd.cfg");
    writeFileSync(config, `[default]\naccess_key = ${cluster.accessKeyId}\nsecret_key = ${cluster.secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nbucket_location = us-east-1\n`);
    return run("s3cmd", ["-c", config, ...args]);
  };

  it("mb, put, ls (with a folder), info, get, put from stdin (multipart), del", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const md5 = createHash("md5").update(content).digest("hex");
    writeFileSync(join(work, "clip.mp4"), content);
    expect((await s3cmd("mb", "s3://s3cmd-bucket")).status).toBe(0);
    const put = await s3cmd("put", join(work, "clip.mp4"), "s3://s3cmd-bucket/shows/clip.mp4");
    expect(put.stderr).not.toContain("ERROR");
    expect(put.status).toBe(0);
    const ls = await s3cmd("ls", "s3://s3cmd-bucket/");
    expect(ls.status).toBe(0);
    expect(ls.stdout).toMatch(/DIR\s+s3:\/\/s3cmd-bucket\/shows\//);
    const info = await s3cmd("info", "s3://s3cmd-bucket/shows/clip.mp4");
    console.log(`s3cmd info: ${info.ms} ms`);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain(`MD5 sum:   ${md5}`);
    expect(info.stdout).toMatch(/ACL:\s+ringstore: FULL_CONTROL/);
    const get = await s3cmd("get", "--force", "s3://s3cmd-bucket/shows/clip.mp4", join(work, "back.mp4"));
    expect(get.status).toBe(0);
    expect(createHash("md5").update(readFileSync(join(work, "back.mp4"))).digest("hex")).toBe(md5);
    const piped = await run("s3cmd", ["-c", join(work, "s3cmd.cfg"), "put", "-", "s3://s3cmd-bucket/shows/piped.mp4"], {}, content);
    expect(piped.status).toBe(0);
    expect((await s3cmd("del", "s3://s3cmd-bucket/shows/clip.mp4")).status).toBe(0);
    expect((await s3cmd("ls", "s3://s3cmd-bucket/shows/")).stdout).not.toContain("clip.mp4");
  });
});

describe.runIf(hasRclone)("rclone", () => {
  const rclone = (...args: string[]) =>
    run("rclone", ["--config", "/dev/null", "--retries", "1", "--low-level-retries", "2", ...args], {
      RCLONE_CONFIG_RS_TYPE: "s3",
      RCLONE_CONFIG_RS_PROVIDER: "Other",
      RCLONE_CONFIG_RS_ENDPOINT: cluster.endpoint,
      RCLONE_CONFIG_RS_ACCESS_KEY_ID: cluster.accessKeyId,
      RCLONE_CONFIG_RS_SECRET_ACCESS_KEY: cluster.secretAccessKey,
      RCLONE_CONFIG_RS_REGION: "us-east-1",
      RCLONE_CONFIG_RS_FORCE_PATH_STYLE: "true",
    });

  it("mkdir, copy a folder tree, lsd, ls, check, delete, all within their deadlines", async () => {
    const tree = join(work, "tree");
    for (const show of ["a", "b", "c"]) {
      mkdirSync(join(tree, show, "s1"), { recursive: true });
      for (let e = 0; e < 4; e++) writeFileSync(join(tree, show, "s1", `e${e}.mp4`), randomBytes(10_000 + e));
      writeFileSync(join(tree, show, "poster.jpg"), randomBytes(500));
    }
    expect((await rclone("mkdir", "rs:rclone-bucket")).status).toBe(0);
    const copy = await rclone("copy", tree, "rs:rclone-bucket/library");
    expect(copy.stderr).not.toContain("ERROR");
    expect(copy.status).toBe(0);
    const lsd = await rclone("lsd", "rs:rclone-bucket/library");
    console.log(`rclone lsd: ${lsd.ms} ms`);
    expect(lsd.status).toBe(0);
    expect(lsd.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).pop())).toEqual(["a", "b", "c"]);
    const ls = await rclone("ls", "rs:rclone-bucket/library");
    expect(ls.stdout.trim().split("\n")).toHaveLength(15);
    const check = await rclone("check", tree, "rs:rclone-bucket/library");
    console.log(`rclone check: ${check.ms} ms`);
    expect(check.stderr).toContain("0 differences found");
    expect(check.status).toBe(0);
    expect((await rclone("delete", "rs:rclone-bucket/library/b")).status).toBe(0);
    expect((await rclone("lsd", "rs:rclone-bucket/library")).stdout).not.toMatch(/\sb\n/);
  });
});
