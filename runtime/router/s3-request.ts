// Parsing the target of an S3 request: bucket, key and sub-resource parameters, in path style
// (`/bucket/key`) or virtual-hosted style (`bucket.<domain>` in the Host header, `/key` in the path).
// Guarantees: the key is the percent-decoded remainder of the raw path after the bucket, exactly as S3
// reads it ("a//b" and "a/./b" stay as they are); malformed percent-encoding is an InvalidURI-style 400.
// A Host is virtual-hosted only when it ends in "." plus one of the configured domains, so an IP address
// or the bare domain is always path style.
import { S3Error } from "../s3/errors.ts";

export interface S3Target {
  readonly bucket: string | null;
  readonly key: string | null;
  readonly query: URLSearchParams;
  readonly rawPath: string;
  readonly rawQuery: string;
  /** The bucket came from the Host header: SigV2 signs "/bucket" + path then. */
  readonly virtualHost: boolean;
}

/** The bucket a Host header names, when it is `bucket.<domain>` for one of `domains`. */
export function bucketOfHost(host: string | undefined, domains: readonly string[]): string | undefined {
  if (host === undefined || domains.length === 0) return undefined;
  // Strip the port (IPv6 literals come in brackets and are never virtual hosts).
  const name = host.startsWith("[") ? host : host.replace(/:\d+$/, "");
  const lower = name.toLowerCase();
  for (const domain of domains) {
    const suffix = `.${domain.toLowerCase()}`;
    if (lower.length > suffix.length && lower.endsWith(suffix)) return name.slice(0, name.length - suffix.length);
  }
  return undefined;
}

export function parseTarget(url: string, host?: string, domains: readonly string[] = []): S3Target {
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  const query = new URLSearchParams(rawQuery);
  const hostBucket = bucketOfHost(host, domains);
  if (hostBucket !== undefined) {
    const keyRaw = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
    try {
      return { bucket: hostBucket, key: keyRaw === "" ? null : decodeURIComponent(keyRaw), query, rawPath, rawQuery, virtualHost: true };
    } catch (cause) {
      throw new S3Error("InvalidArgument", "Couldn't parse the specified URI.", { resource: rawPath, cause });
    }
  }
  const path = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
  if (path === "") return { bucket: null, key: null, query, rawPath, rawQuery, virtualHost: false };
  const slash = path.indexOf("/");
  const bucketRaw = slash < 0 ? path : path.slice(0, slash);
  const keyRaw = slash < 0 ? "" : path.slice(slash + 1);
  try {
    const bucket = decodeURIComponent(bucketRaw);
    const key = keyRaw === "" ? null : decodeURIComponent(keyRaw);
    return { bucket, key, query, rawPath, rawQuery, virtualHost: false };
  } catch (cause) {
    throw new S3Error("InvalidArgument", "Couldn't parse the specified URI.", { resource: rawPath, cause });
  }
}

/** S3 sub-resources that name an operation (`?uploads`, `?location`, …). */
export function subresource(query: URLSearchParams, name: string): boolean {
  return query.has(name);
}
