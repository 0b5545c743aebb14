// The router's transport: the HTTP transport, with each `put` given its own branch of the body's tee.
// The coordinator hands the same Body value to every put of a write (core/coordinator.ts); here that
// value is a StreamTee, and each replica's request body is a fresh branch of it.
import type { Readable } from "node:stream";
import type { CancelSignal, ReplicaRequest, Transport } from "../../core/ports.ts";
import type { RouterBody } from "./replicated-objects.ts";
import { StreamTee } from "./tee.ts";

export function teeingTransport(inner: Transport<Readable>): Transport<RouterBody> {
  const send = (to: Parameters<Transport<Readable>["send"]>[0], request: ReplicaRequest<RouterBody>, signal?: CancelSignal) => {
    if (request.kind === "put") {
      const body = request.body instanceof StreamTee ? request.body.branch() : request.body;
      return inner.send(to, { ...request, body }, signal);
    }
    return inner.send(to, request as ReplicaRequest<Readable>, signal);
  };
  return { send } as Transport<RouterBody>;
}
