// The front of the limit pipeline (bench/limit/pipeline.ts): the least a router must do.
// PUT /bucket/key: the body is streamed to every store at once (the slowest sets the pace) and answered 200
// once all of them have it durable. PUT /bucket: 200. GET: streamed from one store, chosen by the key.
// Connections to the stores are pooled and kept alive (undici), as a router's would be.
//   node --import tsx bench/limit/forwarder.ts <port> <store-port>...
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Pool } from "undici";

const [portText, ...storePorts] = process.argv.slice(2);
if (portText === undefined || storePorts.length === 0) throw new Error("usage: forwarder.ts <port> <store-port>...");
const stores = storePorts.map((port) => new Pool(`http://127.0.0.1:${port}`, { connections: 64, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 }));

const isObject = (path: string) => path.indexOf("/", 1) > 0;
const storeOf = (path: string) => stores[createHash("sha1").update(path).digest().readUInt32BE(0) % stores.length]!;

createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0]!;
  const fail = (error: Error) => {
    if (!response.headersSent) response.writeHead(502).end(error.message);
    else response.destroy(error);
  };
  if (request.method === "PUT" && !isObject(path)) {
    request.resume();
    response.writeHead(200, { "content-length": "0" }).end();
    return;
  }
  if (request.method === "PUT") {
    const length = request.headers["content-length"];
    const copies = stores.map(() => new PassThrough({ highWaterMark: 256 * 1024 }));
    for (const copy of copies) request.pipe(copy);
    Promise.all(
      stores.map(async (store, i) => {
        const answer = await store.request({ method: "PUT", path, body: copies[i]!, headers: length === undefined ? {} : { "content-length": length } });
        await answer.body.dump();
        if (answer.statusCode !== 200) throw new Error(`store answered ${answer.statusCode}`);
      }),
    ).then(() => response.writeHead(200, { "content-length": "0" }).end(), fail);
    return;
  }
  if (request.method === "GET") {
    const range = request.headers.range;
    storeOf(path)
      .request({ method: "GET", path, headers: range === undefined ? {} : { range } })
      .then((answer) => {
        const headers: Record<string, string> = {};
        for (const name of ["content-length", "content-range"]) if (typeof answer.headers[name] === "string") headers[name] = answer.headers[name] as string;
        response.writeHead(answer.statusCode, headers);
        return pipeline(answer.body, response);
      })
      .catch(fail);
    return;
  }
  request.resume();
  response.writeHead(405, { "content-length": "0" }).end();
}).listen(Number(portText), "127.0.0.1", () => process.send?.("listening"));
