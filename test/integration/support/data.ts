// Deterministic test bodies of any size, streamed (never whole in memory), with their digest.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";

const BLOCK_BYTES = 1024 * 1024;

/**
 * `size` deterministic bytes, never whole in memory: a random 1 MiB block, each copy stamped with its index so
 * no two blocks match. `body()` makes a fresh stream of them each call; `md5` is their digest.
 */
export function generatedBodyWithDigest(size: number): { body: () => Readable; md5: Promise<string> } {
  const block = randomBytes(BLOCK_BYTES);
  const make = () => {
    let sent = 0;
    let index = 0;
    return new Readable({
      highWaterMark: BLOCK_BYTES,
      read() {
        if (sent >= size) return void this.push(null);
        const n = Math.min(BLOCK_BYTES, size - sent);
        const chunk = Buffer.from(block.subarray(0, n));
        if (n >= 8) chunk.writeUInt32BE(index++, 0);
        sent += n;
        this.push(chunk);
      },
    });
  };
  return { body: make, md5: digestOf(make()) };
}

export async function digestOf(stream: AsyncIterable<Uint8Array> | Readable, algorithm = "md5"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of stream) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}
