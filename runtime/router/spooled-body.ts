// A PUT in plain HTTP chunking (`Transfer-Encoding: chunked`, no Content-Length, no aws-chunked framing)
// names no size, and every replica write needs one before its first byte. Such a body is spooled to a file
// first (never held in memory), then sent on like any body of known length.
// Guarantees: the spool holds at most `bytesMax` bytes (EntityTooLarge past it, the file removed); the file
// is removed once the write is done or failed (`release`); the request the caller gets back reads the
// spooled bytes with the original headers plus the Content-Length they add up to.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Error } from "../s3/errors.ts";

/** True for a body whose length only its end tells: plain chunking, no Content-Length, no aws-chunked framing. */
export function needsSpooling(req: IncomingMessage): boolean {
  const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
  return req.headers["content-length"] === undefined && req.headers["x-amz-decoded-content-length"] === undefined && /chunked/i.test(String(req.headers["transfer-encoding"] ?? "")) && !encoding.includes("aws-chunked");
}

export async function spoolBody(req: IncomingMessage, bytesMax: number): Promise<{ req: IncomingMessage; bytes: number; release: () => Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), "ringstore-spool-"));
  const release = () => rm(folder, { recursive: true, force: true });
  const path = join(folder, "body");
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > bytesMax) return done(new S3Error("EntityTooLarge", undefined, { extra: { MaxSizeAllowed: String(bytesMax) } }));
      done(null, chunk);
    },
  });
  try {
    await pipeline(req, limit, createWriteStream(path));
  } catch (error) {
    await release();
    throw error;
  }
  const spooled = createReadStream(path) as unknown as IncomingMessage;
  const headers = { ...req.headers, "content-length": String(bytes) };
  delete headers["transfer-encoding"];
  const headersDistinct: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) if (values !== undefined && name !== "transfer-encoding") headersDistinct[name] = values;
  headersDistinct["content-length"] = [String(bytes)];
  Object.assign(spooled, { headers, headersDistinct, method: req.method, url: req.url, socket: req.socket });
  return { req: spooled, bytes, release };
}
