// From an S3 PUT request to what the object service stores: the decoded, verified body and its metadata.
// Guarantees: the digests promise resolves only after every byte streamed and every client-side check
// passed (signature chunks, sha256, Content-MD5, x-amz-checksum-*, declared length); otherwise it rejects
// with the S3Error, and the coordinator then commits nothing. The body is hashed once, in the same pass
// as the decoder's checks: MD5 (ETag) and CRC32 in the decoder, xxhash64 (replica checksum) here.
import type { IncomingMessage } from "node:http";
import type { ObjectVersion } from "../../core/object-version.ts";
import { S3Error } from "../s3/errors.ts";
import { type PayloadPlan, decodePlanned } from "../s3/payload.ts";
import type { SigV4Auth } from "../s3/sigv4.ts";
import { DigestPassThrough } from "./digest-stream.ts";
import { INTERNAL_META_PREFIX } from "../../core/manifest.ts";
import type { BodyDigests, PutInput } from "./object-service.ts";

/** Headers S3 stores with an object and returns on GET/HEAD. */
const STORED_HEADERS = ["cache-control", "content-disposition", "content-language", "expires"] as const;
/** S3's limit on user-defined metadata (x-amz-meta-* names and values). */
export const USER_METADATA_BYTES_MAX = 2048;

export interface PutBody {
  readonly put: PutInput;
  /** Headers for the PUT response (the checksum the client sent, echoed as S3 does). */
  readonly checks: Promise<{ responseHeaders: Record<string, string> }>;
}

export function readPutBody(req: IncomingMessage, payload: PayloadPlan, target: { bucket: string; key: string; bytesMax: number; metadata?: Readonly<Record<string, string>> }): PutBody {
  // One object, filled as the body ends (the checksums): callers add to it here, never to a copy.
  const metadata = { ...metadataFrom(req), ...target.metadata };
  // Only the checks the client asked for: a CRC32 nobody sent or asked for would be computed and thrown away.
  const decoded = decodePlanned(req, payload, { bytesMax: target.bytesMax, requireLength: true, crc32Always: false });
  if (!decoded.ok) throw decoded.error;
  const size = decoded.value.bytesDeclared;
  if (size === undefined) throw new S3Error("MissingContentLength");
  const { contentEncoding } = decoded.value;
  if (contentEncoding) metadata["content-encoding"] = contentEncoding;

  const hasher = new DigestPassThrough({ md5: false });
  decoded.value.body.on("error", (error) => hasher.destroy(error));
  decoded.value.body.pipe(hasher);

  const summary = decoded.value.result.then((result) => {
    if (!result.ok) throw result.error;
    return result.value;
  });
  const digests: Promise<BodyDigests> = Promise.all([summary, hasher.done]).then(([s, xx]) => {
    if (s.bytesTotal !== xx.size) throw new S3Error("InternalError", `decoder counted ${s.bytesTotal} bytes, hasher ${xx.size}`);
    return { md5Hex: s.md5Hex, checksum: xx.checksum, size: s.bytesTotal };
  });
  const checks = summary.then((s) => {
    const responseHeaders: Record<string, string> = {};
    if (s.checksumAlgorithm) {
      const value = s.checksums[s.checksumAlgorithm];
      if (value) responseHeaders[`x-amz-checksum-${s.checksumAlgorithm.toLowerCase()}`] = value;
    }
    return { responseHeaders };
  });
  // Stored checksums are known only at the end; the object service reads them from here for the commit.
  const put: PutInput = {
    bucket: target.bucket,
    key: target.key,
    contentType: headerValue(req, "content-type") ?? "binary/octet-stream",
    metadata,
    size,
    body: hasher,
    digests: Promise.all([digests, checks]).then(([d, c]) => {
      Object.assign(metadata, c.responseHeaders);
      return d;
    }),
  };
  // Nobody may be waiting on `checks` when the body fails: keep the rejection handled here, once.
  checks.catch(() => {});
  return { put, checks };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

export function metadataFrom(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  let userBytes = 0;
  // headersDistinct, not headers: Node joins a repeated header with ", ", S3 keeps "deflate,gzip".
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    const value = values.join(",");
    if (name.startsWith("x-amz-meta-")) {
      userBytes += Buffer.byteLength(name.slice("x-amz-meta-".length)) + Buffer.byteLength(value);
      metadata[name] = value;
    } else if ((STORED_HEADERS as readonly string[]).includes(name)) {
      metadata[name] = value;
    }
  }
  if (userBytes > USER_METADATA_BYTES_MAX) {
    throw new S3Error("MetadataTooLarge", `Your metadata headers exceed the maximum allowed metadata size of ${USER_METADATA_BYTES_MAX} bytes.`);
  }
  return metadata;
}

/** The headers to send back with an object on GET/HEAD; checksums only for whole-object reads that ask. */
export function storedMetadataHeaders(version: ObjectVersion, options: { wholeObject: boolean; checksumMode: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(version.userMeta)) {
    if (name.startsWith(INTERNAL_META_PREFIX)) continue;
    if (name.startsWith("x-amz-checksum-") && !(options.wholeObject && options.checksumMode)) continue;
    out[name] = value;
  }
  return out;
}
