// Helpers for the storage-node runtime tests: temp data folders, a log that records, versions and bodies.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { checksumHex, xxhash64Bytes } from "../../../core/hash.ts";
import type { PartitionId } from "../../../core/ids.ts";
import type { ObjectVersion, VersionStamp } from "../../../core/object-version.ts";
import type { Log, LogFields, VersionHeader } from "../../../core/ports.ts";
import { formatStamp } from "../../../core/version.ts";

export interface RecordedLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly event: string;
  readonly fields: LogFields;
}

export function recordingLog(): Log & { lines: RecordedLine[]; events(level?: RecordedLine["level"]): string[] } {
  const lines: RecordedLine[] = [];
  const at =
    (level: RecordedLine["level"]) =>
    (event: string, fields: LogFields = {}): void => {
      lines.push({ level, event, fields });
    };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    events: (level) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.event),
  };
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "ringstore-node-"));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let physicalMs = 1_760_000_000_000;
export function nextStamp(writer = "test"): VersionStamp {
  physicalMs += 1;
  return formatStamp({ physicalMs, logical: 0, writer });
}

export const partition7 = 7 as PartitionId;

export function headerOf(bucket: string, key: string, size: number, overrides: Partial<VersionHeader> = {}): VersionHeader {
  return { bucket, key, stamp: nextStamp(), size, contentType: "video/mp4", userMeta: { camera: "a" }, deleted: false, ...overrides };
}

export function versionOf(header: VersionHeader, checksum: string): ObjectVersion {
  return { ...header, etag: "0123456789abcdef0123456789abcdef", checksum };
}

export function bytesOf(size: number): Buffer {
  return randomBytes(size);
}

export const checksumOf = (bytes: Uint8Array): string => checksumHex(xxhash64Bytes(bytes));

/** A stream of `bytes` in chunks of `chunkBytes`, as a socket would deliver them. */
export function streamOf(bytes: Buffer, chunkBytes = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes.length) {
        this.push(null);
        return;
      }
      const end = Math.min(bytes.length, offset + chunkBytes);
      this.push(bytes.subarray(offset, end));
      offset = end;
    },
  });
}

/** A stream that yields some bytes, then fails: a sender that went away. */
export function failingStreamOf(bytes: Buffer, failAfterBytes: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= failAfterBytes) {
        this.destroy(new Error("sender went away"));
        return;
      }
      const end = Math.min(failAfterBytes, offset + 64 * 1024);
      this.push(bytes.subarray(offset, end));
      offset = end;
    },
  });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Polls `check` until it returns true or the deadline passes; fails with `what` on timeout. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
