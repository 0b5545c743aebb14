// Branded identifiers: a NodeId cannot be passed where a PartitionId is expected, and neither can a
// plain string or number that was never checked.

import { assert } from "./assert.ts";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type NodeId = Brand<string, "NodeId">;
export type PartitionId = Brand<number, "PartitionId">;
export type Epoch = Brand<number, "Epoch">;
export type ZoneId = Brand<string, "ZoneId">;

const nodeIdPattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function nodeId(value: string): NodeId {
  assert(nodeIdPattern.test(value), () => `node id ${JSON.stringify(value)} must match ${nodeIdPattern}`);
  return value as NodeId;
}

export function isValidNodeId(value: string): boolean {
  return nodeIdPattern.test(value);
}

export function zoneId(value: string): ZoneId {
  assert(value.length > 0 && value.length <= 64, () => `zone id ${JSON.stringify(value)} must be 1..64 characters`);
  return value as ZoneId;
}

export function partitionId(value: number, partitionCount: number): PartitionId {
  assert(Number.isInteger(value) && value >= 0 && value < partitionCount, () => `partition ${value} outside 0..${partitionCount - 1}`);
  return value as PartitionId;
}

export function epoch(value: number): Epoch {
  assert(Number.isInteger(value) && value >= 0, () => `epoch ${value} must be a non-negative integer`);
  return value as Epoch;
}
