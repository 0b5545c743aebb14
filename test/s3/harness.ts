// A tiny S3 endpoint for tests: every request goes through acceptS3Request (verifySigV4, then
// decodePayload) exactly as the router will run it, and is recorded; the answer is an S3 error or what the test's `respond` returns.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { S3Client } from "@aws-sdk/client-s3";
import { S3Error, renderErrorXml, toS3Error } from "../../runtime/s3/errors.ts";
import type { PayloadResult } from "../../runtime/s3/payload.ts";
import { acceptS3Request } from "../../runtime/s3/request.ts";
import { splitRequestUrl, type SigV4Auth } from "../../runtime/s3/sigv4.ts";

export const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
export const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

export interface Exchange {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: IncomingMessage["headers"];
  auth?: SigV4Auth | undefined;
  payload?: PayloadResult;
  /** The decoded bytes the consumer saw (also when the payload later failed). */
  bytes?: Buffer;
  /** The error the decoded body stream emitted, if any. */
  streamError?: unknown;
  error?: S3Error;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface TestS3Server {
  readonly port: number;
  readonly endpoint: string;
  readonly exchanges: Exchange[];
  /** Resolves with the next exchange to finish (recorded before the reply is sent). */
  nextExchange(): Promise<Exchange>;
  respond: (exchange: Exchange) => Reply;
  nowMs: () => number;
  /** Forgets recorded exchanges nobody waited for and restores the default reply. */
  reset(): void;
  close(): Promise<void>;
}

const defaultReply = (exchange: Exchange): Reply => ({
  status: 200,
  headers: { ETag: `"${exchange.payload?.ok === true ? exchange.payload.value.md5Hex : ""}"` },
});

export async function startS3Server(secrets: Record<string, string> = { [ACCESS_KEY]: SECRET_KEY }): Promise<TestS3Server> {
  const waiters: ((exchange: Exchange) => void)[] = [];
  const finished: Exchange[] = [];

  const record = (exchange: Exchange): void => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(exchange);
    else finished.push(exchange);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const { rawPath, rawQuery } = splitRequestUrl(request.url ?? "/");
    const exchange: Exchange = { method: request.method ?? "GET", rawPath, rawQuery, headers: request.headers };
    state.exchanges.push(exchange);
    const sendError = (error: S3Error): void => {
      exchange.error = error;
      record(exchange);
      const xml = renderErrorXml(error.withResource(rawPath), "TESTREQUESTID");
      response.writeHead(error.status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(xml) });
      response.end(xml);
    };
    try {
      const accepted = await acceptS3Request(request, { lookupSecret: (accessKey) => secrets[accessKey], nowMs: state.nowMs() });
      if (!accepted.ok) {
        sendError(accepted.error);
        return;
      }
      exchange.auth = accepted.value.auth;
      const started = accepted.value;
      const parts: Buffer[] = [];
      try {
        for await (const part of started.payload.body) parts.push(part as Buffer);
      } catch (error) {
        exchange.streamError = error;
      }
      exchange.bytes = Buffer.concat(parts);
      const payload = await started.payload.result;
      exchange.payload = payload;
      if (!payload.ok) {
        sendError(payload.error);
        return;
      }
      record(exchange);
      const reply = state.respond(exchange);
      const body = reply.body ?? "";
      response.writeHead(reply.status, { "Content-Length": String(Buffer.byteLength(body)), ...reply.headers });
      response.end(body);
    } catch (error) {
      sendError(toS3Error(error));
    }
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const state: TestS3Server = {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    exchanges: [],
    nextExchange: () => {
      const ready = finished.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiters.push(resolve));
    },
    respond: defaultReply,
    nowMs: () => Date.now(),
    reset: () => {
      finished.length = 0;
      state.respond = defaultReply;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

export function s3Client(server: TestS3Server, options: Partial<ConstructorParameters<typeof S3Client>[0]> = {}): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
    ...options,
  });
}
