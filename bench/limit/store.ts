// One process of the limit pipeline (bench/limit/pipeline.ts): the least a storage node must do.
// PUT writes the body to a temporary file, fsyncs it and renames it into place, then answers 200;
// GET (with an optional single Range) streams the file back. No metadata, no checksums, no authentication.
//   node --import tsx bench/limit/store.ts <port> <dir>
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { rename, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

const [portText, dir] = process.argv.slice(2);
if (portText === undefined || dir === undefined) throw new Error("usage: store.ts <port> <dir>");
mkdirSync(dir, { recursive: true });
let temporaryCount = 0;

const fileOf = (url: string) => join(dir, createHash("sha1").update(url).digest("hex"));

createServer((request, response) => {
  const url = request.url ?? "/";
  const fail = (error: Error) => {
    if (!response.headersSent) response.writeHead(500).end(error.message);
    else response.destroy(error);
  };
  if (request.method === "PUT") {
    const temporary = join(dir, `.tmp-${process.pid}-${temporaryCount++}`);
    // flush: fsync before the descriptor closes (Node ≥ 20.10).
    pipeline(request, createWriteStream(temporary, { flush: true }))
      .then(() => rename(temporary, fileOf(url)))
      .then(() => response.writeHead(200, { "content-length": "0" }).end(), fail);
    return;
  }
  if (request.method === "GET") {
    const file = fileOf(url);
    stat(file).then((info) => {
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
      const first = range ? Number(range[1]) : 0;
      const last = range ? Math.min(Number(range[2]), info.size - 1) : info.size - 1;
      response.writeHead(range ? 206 : 200, { "content-length": String(last - first + 1), ...(range ? { "content-range": `bytes ${first}-${last}/${info.size}` } : {}) });
      return pipeline(createReadStream(file, { start: first, end: last, highWaterMark: 256 * 1024 }), response);
    }, () => response.writeHead(404, { "content-length": "0" }).end()).catch(fail);
    return;
  }
  request.resume();
  response.writeHead(405, { "content-length": "0" }).end();
}).listen(Number(portText), "127.0.0.1", () => process.send?.("listening"));
