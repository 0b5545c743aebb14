// A minimal ReplicaHandler straight over a BlobStore, for transport tests that must not depend on the core
// storage-node logic: each request kind calls the store method of the same meaning.
import type { Readable } from "node:stream";
import type { BlobStore, ReplicaResponse, RequestKind, RequestOf, StoreFailure, TransportFailure } from "../../../core/ports.ts";
import { type Result, err, ok } from "../../../core/result.ts";
import type { ReplicaHandler } from "../../../runtime/transport/http-server.ts";

function transportFailureOf(failure: StoreFailure): TransportFailure {
  if (failure.kind === "corrupt" && failure.detail.startsWith("checksum-mismatch")) return { kind: "checksum-mismatch", detail: failure.detail };
  return { kind: failure.kind === "io" ? "remote" : failure.kind, detail: failure.detail };
}

export interface CountingHandler {
  readonly handle: ReplicaHandler;
  readonly calls: RequestKind[];
  /** Puts whose store call has returned, with their results. */
  readonly putsFinished: Result<unknown, StoreFailure>[];
}

export function storeHandler(store: BlobStore<Readable>): CountingHandler {
  const calls: RequestKind[] = [];
  const putsFinished: Result<unknown, StoreFailure>[] = [];
  const run = async (request: RequestOf<RequestKind, Readable>): Promise<Result<unknown, TransportFailure>> => {
    calls.push(request.kind);
    const mapped = <T>(result: Result<T, StoreFailure>): Result<T, TransportFailure> => (result.ok ? result : err(transportFailureOf(result.error)));
    switch (request.kind) {
      case "put": {
        const result = await store.writePending(request.partition, request.header, request.body, request.hintFor);
        putsFinished.push(result);
        return mapped(result);
      }
      case "commit": {
        const result = await store.commit(request.partition, request.version, request.hintFor, request.written);
        return result.ok ? ok({ committed: true }) : mapped(result);
      }
      case "head": {
        const result = await store.headCommitted(request.bucket, request.key);
        return result.ok ? ok({ version: result.value }) : mapped(result);
      }
      case "get":
        return mapped(await store.readBody(request.bucket, request.key, request.stamp, request.range));
      case "drop": {
        const result = await store.drop(request.bucket, request.key, request.stamp);
        return result.ok ? ok({ dropped: result.value }) : mapped(result);
      }
      case "list-partition": {
        const result = await store.listPartition(request.partition, request.from, request.limit);
        if (!result.ok) return mapped(result);
        const entries = result.value.map((v) => ({ bucket: v.bucket, key: v.key, stamp: v.stamp, deleted: v.deleted, checksum: v.checksum }));
        return ok({ entries, done: entries.length < request.limit });
      }
      case "list-bucket": {
        const result = await store.listBucket(request.bucket, request.prefix, request.after, request.limit);
        return result.ok ? ok({ versions: result.value, done: result.value.length < request.limit }) : mapped(result);
      }
      default:
        return err({ kind: "remote", detail: `${request.kind} is not served by the test handler` });
    }
  };
  const handle = run as unknown as ReplicaHandler;
  return { handle, calls, putsFinished };
}

export type { ReplicaResponse };
