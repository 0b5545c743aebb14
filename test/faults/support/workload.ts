// A jepsen-style workload for the fault suite: several S3 clients write and read their own keys while faults
// come and go, and a history of every request is kept to check afterwards that nothing acknowledged was lost.
// Each key has one writer (its client), so its writes are ordered: the value a final read may show is the
// newest acknowledged write, or a write issued after it that was not acknowledged (it may have landed).
// A body names the write it came from on its first line, so a read says which write it saw.
import { createHash } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";

export interface Attempt {
  readonly key: string;
  readonly seq: number;
  readonly acked: boolean;
}

export interface WorkloadFigures {
  putsTotal: number;
  putsRefused: number;
  getsTotal: number;
  getsRefused: number;
  /** Reads that returned a write older than one acknowledged before the read began. */
  staleReads: string[];
  /** What refusals were, by S3 error code or client error name. */
  refusals: Map<string, number>;
  /** Each refusal: when (Date.now()), which operation, what. */
  refused: { atMs: number; op: "PUT" | "GET"; name: string }[];
  /** Every request: when it began (Date.now()), which operation, whether it succeeded. */
  requests: { startMs: number; op: "PUT" | "GET"; ok: boolean }[];
}

export interface Workload {
  readonly figures: WorkloadFigures;
  /** Every write attempt per key, in issue order. */
  readonly attempts: ReadonlyMap<string, readonly Attempt[]>;
  /** Resolves once every client has stopped (after `stop()` or the duration). */
  readonly done: Promise<void>;
  stop(): void;
}

/** The body of write `seq` of `key`: its name on the first line, then filler to `size` bytes. */
export function bodyOf(key: string, seq: number, size: number): Buffer {
  const head = `${key}#${seq}\n`;
  const body = Buffer.alloc(Math.max(size, head.length), "x");
  body.write(head, 0, "utf8");
  return body;
}

/** Which write of `key` a body came from, or -1 when it names another key or none. */
export function seqOf(key: string, body: Buffer): number {
  const line = body.subarray(0, body.indexOf(10)).toString("utf8");
  const [name, seq] = line.split("#");
  return name === key && seq !== undefined && /^\d+$/.test(seq) ? Number(seq) : -1;
}

export const md5Of = (bytes: Buffer): string => createHash("md5").update(bytes).digest("hex");

export function refusalName(error: unknown): string {
  if (error instanceof S3ServiceException) return `${error.$metadata.httpStatusCode ?? "?"} ${error.name}`;
  if (error instanceof Error) return error.name === "Error" ? error.message.slice(0, 80) : `${error.name}: ${error.message.slice(0, 80)}`;
  return String(error);
}

export function startWorkload(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly clients: number;
  readonly keysPerClient: number;
  readonly durationMs: number;
  readonly bodyBytes: (rng: () => number) => number;
  readonly rng: () => number;
  /** Share of requests that are writes. */
  readonly writeShare?: number;
  /** Prepended to every key, so that two workloads on one bucket never share a key. */
  readonly keyPrefix?: string;
}): Workload {
  const figures: WorkloadFigures = { putsTotal: 0, putsRefused: 0, getsTotal: 0, getsRefused: 0, staleReads: [], refusals: new Map(), refused: [], requests: [] };
  const attempts = new Map<string, Attempt[]>();
  /** Per key, the seq of the newest acknowledged write. */
  const ackedSeq = new Map<string, number>();
  let stopped = false;
  const deadline = Date.now() + options.durationMs;
  const refused = (op: "PUT" | "GET", error: unknown) => {
    const name = refusalName(error);
    figures.refusals.set(name, (figures.refusals.get(name) ?? 0) + 1);
    figures.refused.push({ atMs: Date.now(), op, name });
  };

  const client = async (c: number): Promise<void> => {
    const keys = Array.from({ length: options.keysPerClient }, (_, k) => `${options.keyPrefix ?? ""}c${c}/k${k}`);
    let seq = 0;
    while (!stopped && Date.now() < deadline) {
      const key = keys[Math.floor(options.rng() * keys.length)]!;
      if (!ackedSeq.has(key) || options.rng() < (options.writeShare ?? 0.6)) {
        seq += 1;
        const list = attempts.get(key) ?? [];
        attempts.set(key, list);
        const attempt = { key, seq, acked: false };
        list.push(attempt);
        figures.putsTotal += 1;
        const startMs = Date.now();
        try {
          await options.s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: bodyOf(key, seq, options.bodyBytes(options.rng)) }));
          list[list.indexOf(attempt)] = { ...attempt, acked: true };
          ackedSeq.set(key, seq);
          figures.requests.push({ startMs, op: "PUT", ok: true });
        } catch (error) {
          figures.putsRefused += 1;
          refused("PUT", error);
          figures.requests.push({ startMs, op: "PUT", ok: false });
        }
      } else {
        const floor = ackedSeq.get(key) ?? -1;
        figures.getsTotal += 1;
        const startMs = Date.now();
        try {
          const got = await options.s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
          const seen = seqOf(key, Buffer.from(await got.Body!.transformToByteArray()));
          if (seen < floor) figures.staleReads.push(`${key}: read #${seen} after #${floor} was acknowledged`);
          figures.requests.push({ startMs, op: "GET", ok: true });
        } catch (error) {
          figures.getsRefused += 1;
          refused("GET", error);
          figures.requests.push({ startMs, op: "GET", ok: false });
        }
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.clients }, (_, c) => client(c))).then(() => undefined);
  return { figures, attempts, done, stop: () => void (stopped = true) };
}

/** The writes a final read of `key` may show: the newest acknowledged one and every later attempt. */
export function allowedFinal(list: readonly Attempt[]): { newestAcked: number; allowed: ReadonlySet<number> } | null {
  let newestAcked = -1;
  for (const a of list) if (a.acked) newestAcked = Math.max(newestAcked, a.seq);
  if (newestAcked < 0) return null;
  return { newestAcked, allowed: new Set(list.filter((a) => a.seq >= newestAcked).map((a) => a.seq)) };
}

/**
 * Reads every key back once the cluster has settled: a key whose newest acknowledged write is not shown (an
 * older write, or no object) is lost. Returns the lost keys and, for the copy check, each key's ETag.
 */
export async function checkFinal(s3: S3Client, bucket: string, attempts: ReadonlyMap<string, readonly Attempt[]>, readAttempts = 5): Promise<{ lost: string[]; etags: Map<string, string>; unreadable: string[] }> {
  const lost: string[] = [];
  const unreadable: string[] = [];
  const etags = new Map<string, string>();
  for (const [key, list] of attempts) {
    const expected = allowedFinal(list);
    if (!expected) continue;
    let body: Buffer | undefined;
    let lastError: unknown;
    for (let i = 0; i < readAttempts && !body; i++) {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        body = Buffer.from(await got.Body!.transformToByteArray());
      } catch (error) {
        lastError = error;
        if (error instanceof S3ServiceException && error.name === "NoSuchKey") break;
        await new Promise((done) => setTimeout(done, 1000));
      }
    }
    if (!body) {
      (lastError instanceof S3ServiceException && lastError.name === "NoSuchKey" ? lost : unreadable).push(`${key}: ${refusalName(lastError)} (newest acknowledged #${expected.newestAcked})`);
      continue;
    }
    const seen = seqOf(key, body);
    if (!expected.allowed.has(seen)) lost.push(`${key}: shows #${seen}, newest acknowledged #${expected.newestAcked}`);
    etags.set(key, md5Of(body));
  }
  return { lost, etags, unreadable };
}

/** "code ×n, …" for a line of figures. */
export function refusalSummary(refusals: ReadonlyMap<string, number>): string {
  return [...refusals].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} x${n}`).join(", ") || "none";
}

export const percent = (part: number, whole: number): string => `${whole === 0 ? "0.0" : ((100 * part) / whole).toFixed(1)} %`;

/** PUTs `count` objects named `<prefix><i>` (bodies of 1–`sizeMax` bytes, `concurrency` at a time); returns their ETags. */
export async function writeObjects(s3: S3Client, bucket: string, options: { prefix: string; count: number; sizeMax: number; concurrency: number }): Promise<Map<string, string>> {
  const etags = new Map<string, string>();
  let next = 0;
  const writer = async () => {
    while (next < options.count) {
      const i = next++;
      const key = `${options.prefix}${i}`;
      const body = bodyOf(key, 1, 1 + ((i * 7919) % options.sizeMax));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      etags.set(key, md5Of(body));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, writer));
  return etags;
}

/** GETs every key once (`concurrency` at a time); returns the keys that failed or showed other bytes, with why. */
export async function unreadableKeys(s3: S3Client, bucket: string, etags: ReadonlyMap<string, string>, concurrency = 4): Promise<string[]> {
  const failed: string[] = [];
  const keys = [...etags.keys()];
  let next = 0;
  const reader = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = Buffer.from(await got.Body!.transformToByteArray());
        if (md5Of(body) !== etags.get(key)) failed.push(`${key}: other bytes`);
      } catch (error) {
        failed.push(`${key}: ${refusalName(error)}${error instanceof S3ServiceException ? ` (${error.message.slice(0, 120)})` : ""}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, reader));
  return failed;
}
