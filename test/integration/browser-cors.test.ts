// A page on another origin uploads a video it recorded and plays it back from ringstore, in headless
// Chromium: PutBucketCors rules, the preflights they answer, a ranged fetch() whose Content-Range the page
// may read, and a <video> element that streams the object through presigned URLs.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { type IncomingMessage, type Server, createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestCluster, startTestCluster } from "./support/cluster.ts";
import { presignV4 } from "./support/raw-s3.ts";
import { requireProgram } from "./support/system-programs.ts";

const runnable = requireProgram("chromium", "the browser CORS test");
let cluster: TestCluster;
let s3: S3Client;
let page: Server;
let pageOrigin: string;
const BUCKET = "media";

const presign = (method: string, key: string) => presignV4(cluster, method, `/${BUCKET}/${key}`, { expiresInSeconds: 600 });

function options(path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingMessage["headers"] }> {
  const url = new URL(cluster.endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: "OPTIONS", path, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The page: records 1.5 s of a canvas to WebM, PUTs it, reads a range with fetch(), plays it in <video>. */
function pageHtml(putUrl: string, getUrl: string): string {
  return `<!doctype html><html><body><canvas id="c" width="64" height="64"></canvas><video id="v" muted playsinline></video><script>
const report = (result) => fetch("/result", { method: "POST", body: JSON.stringify(result) });
(async () => {
  const result = {};
  try {
    const canvas = document.getElementById("c");
    const g = canvas.getContext("2d");
    let frame = 0;
    const draw = setInterval(() => { g.fillStyle = "hsl(" + (frame++ * 30) + ",80%,50%)"; g.fillRect(0, 0, 64, 64); }, 50);
    const recorder = new MediaRecorder(canvas.captureStream(20), { mimeType: "video/webm" });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((r) => (recorder.onstop = r));
    recorder.start(250);
    await new Promise((r) => setTimeout(r, 1500));
    recorder.stop();
    await stopped;
    clearInterval(draw);
    const video = new Blob(chunks, { type: "video/webm" });
    result.recordedBytes = video.size;
    const put = await fetch(${JSON.stringify(putUrl)}, { method: "PUT", body: video });
    result.putStatus = put.status;
    result.putEtag = put.headers.get("ETag");
    const ranged = await fetch(${JSON.stringify(getUrl)}, { headers: { Range: "bytes=0-99" } });
    result.rangeStatus = ranged.status;
    result.contentRange = ranged.headers.get("Content-Range");
    result.acceptRanges = ranged.headers.get("Accept-Ranges");
    result.rangeBytes = (await ranged.arrayBuffer()).byteLength;
    const v = document.getElementById("v");
    v.crossOrigin = "anonymous";
    v.src = ${JSON.stringify(getUrl)};
    await v.play();
    await new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error("no playback progress; readyState " + v.readyState)), 10000);
      v.ontimeupdate = () => { if (v.currentTime > 0.2) { clearTimeout(deadline); resolve(); } };
      v.onerror = () => reject(new Error("video error " + (v.error && v.error.message)));
    });
    result.playedSeconds = v.currentTime;
    result.videoWidth = v.videoWidth;
  } catch (error) {
    result.error = String(error);
  }
  await report(result);
})();
</script></body></html>`;
}

describe.runIf(runnable)("a browser on another origin", () => {
  let pageHtmlText = "";
  let resolveResult: (value: Record<string, unknown>) => void = () => {};
  const result = new Promise<Record<string, unknown>>((resolve) => (resolveResult = resolve));

  beforeAll(async () => {
    cluster = await startTestCluster({ basePort: 23400, nodes: 3, routers: 1 });
    s3 = cluster.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    page = createServer((req, res) => {
      if (req.method === "POST" && req.url === "/result") {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          res.end("ok");
          resolveResult(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
        });
        return;
      }
      res.setHeader("Content-Type", "text/html");
      res.end(pageHtmlText);
    });
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
    const address = page.address();
    pageOrigin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });

  afterAll(async ({}, suite) => {
    page?.close();
    s3?.destroy();
    await cluster?.cleanup(suite);
  });

  it("PutBucketCors, GetBucketCors and DeleteBucketCors round-trip the rules; without rules a preflight is 403", async () => {
    const rules = [{ AllowedOrigins: ["http://example.test"], AllowedMethods: ["GET"], AllowedHeaders: ["*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 60 }];
    await s3.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: BUCKET }))).CORSRules).toEqual(rules);
    const allowed = await options(`/${BUCKET}/x`, { Origin: "http://example.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe("http://example.test");
    expect(allowed.headers["access-control-allow-headers"]).toBe("range");
    expect((await options(`/${BUCKET}/x`, { Origin: "http://other.test", "Access-Control-Request-Method": "GET" })).status).toBe(403);
    expect((await options(`/${BUCKET}/x`, { Origin: "http://example.test", "Access-Control-Request-Method": "DELETE" })).status).toBe(403);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }));
    const missing = await s3.send(new GetBucketCorsCommand({ Bucket: BUCKET })).catch((error: unknown) => error);
    expect(missing instanceof S3ServiceException && missing.name).toBe("NoSuchCORSConfiguration");
    // The router that took the change answers from it at once (its bucket table, core/bucket-table.ts).
    expect((await options(`/${BUCKET}/x`, { Origin: "http://example.test", "Access-Control-Request-Method": "GET" })).status).toBe(403);
  });

  it("records a video, uploads it, reads a range with fetch() and plays it in <video>, through presigned URLs", async () => {
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: BUCKET,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: [pageOrigin], AllowedMethods: ["GET", "PUT", "HEAD"], AllowedHeaders: ["*"], ExposeHeaders: ["ETag", "Content-Range", "Accept-Ranges", "Content-Length"], MaxAgeSeconds: 600 }] },
      }),
    );
    pageHtmlText = pageHtml(await presign("PUT", "clips/recorded.webm"), await presign("GET", "clips/recorded.webm"));
    const profile = mkdtempSync(join(tmpdir(), "ringstore-chromium-"));
    const browser = spawn("chromium", [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required", `--user-data-dir=${profile}`, `${pageOrigin}/`,
    ], { stdio: "ignore", detached: true }); // its own process group: Chromium's helpers go with it
    try {
      const outcome = await Promise.race([result, new Promise<Record<string, unknown>>((_, reject) => setTimeout(() => reject(new Error("the page reported nothing in 60 s")), 60_000))]);
      console.log(`browser: ${JSON.stringify(outcome)}`);
      expect(outcome.error).toBeUndefined();
      expect(outcome.putStatus).toBe(200);
      expect(outcome.putEtag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(outcome.rangeStatus).toBe(206);
      expect(outcome.contentRange).toBe(`bytes 0-99/${outcome.recordedBytes}`);
      expect(outcome.rangeBytes).toBe(100);
      expect(outcome.playedSeconds as number).toBeGreaterThan(0.2);
      expect(outcome.videoWidth).toBe(64);
    } finally {
      // The profile goes only once Chromium and its helper processes have exited: they write there until then.
      const exited = new Promise((resolve) => (browser.exitCode !== null ? resolve(undefined) : browser.once("exit", resolve)));
      try {
        process.kill(-browser.pid!, "SIGKILL");
      } catch {
        browser.kill("SIGKILL");
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      for (let attempt = 0; ; attempt++) {
        try {
          rmSync(profile, { recursive: true, force: true });
          break;
        } catch (error) {
          if (attempt === 10) {
            console.warn(`could not remove ${profile}: ${String(error)}`);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      }
    }
  }, 90_000);
});
