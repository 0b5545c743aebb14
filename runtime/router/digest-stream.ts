// A pass-through stream that digests the bytes it carries, in one pass: xxhash64 (what replicas verify),
// the size, and optionally MD5 (the ETag, when nobody upstream computes it already).
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { checksumHex, createXxhash64 } from "../../core/hash.ts";

export interface StreamDigests {
  readonly checksum: string;
  readonly size: number;
  /** Present when the stream was made with md5: true. */
  readonly md5Hex?: string;
}

export class DigestPassThrough extends Transform {
  private readonly xxhash = createXxhash64();
  private readonly md5: Hash | undefined;
  private size = 0;
  /** Resolves at the end of the bytes; rejects if the stream fails first. */
  readonly done: Promise<StreamDigests>;
  private settle!: (digests: StreamDigests) => void;

  constructor(options: { md5: boolean }) {
    super({ highWaterMark: 1024 * 1024 });
    this.md5 = options.md5 ? createHash("md5") : undefined;
    this.done = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.once("error", reject);
    });
    // Whoever awaits `done` sees the failure; an unobserved one must not crash the process.
    this.done.catch(() => {});
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.xxhash.update(chunk);
    this.md5?.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.settle({ checksum: checksumHex(this.xxhash.digest()), size: this.size, ...(this.md5 ? { md5Hex: this.md5.digest("hex") } : {}) });
    callback();
  }
}
