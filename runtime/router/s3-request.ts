// Parsing the target of an S3 request (path-style addressing): bucket, key and sub-resource parameters.
// Guarantees: the key is the percent-decoded remainder of the raw path after the bucket, exactly as S3
// reads it ("a//b" and "a/./b" stay as they are); malformed percent-encoding is an InvalidURI-style 400.
import { S3Error } from "../s3/errors.ts";

export interface S3Target {
  readonly bucket: string | null;
  readonly key: string | null;
  readonly query: URLSearchParams;
  readonly rawPath: string;
  readonly rawQuery: string;
}

export function parseTarget(url: string): S3Target {
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  const query = new URLSearchParams(rawQuery);
  const path = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
  if (path === "") return { bucket: null, key: null, query, rawPath, rawQuery };
  const slash = path.indexOf("/");
  const bucketRaw = slash < 0 ? path : path.slice(0, slash);
  const keyRaw = slash < 0 ? "" : path.slice(slash + 1);
  try {
    const bucket = decodeURIComponent(bucketRaw);
    const key = keyRaw === "" ? null : decodeURIComponent(keyRaw);
    return { bucket, key, query, rawPath, rawQuery };
  } catch (cause) {
    throw new S3Error("InvalidArgument", "Couldn't parse the specified URI.", { resource: rawPath, cause });
  }
}

/** S3 sub-resources that name an operation (`?uploads`, `?location`, …). */
export function subresource(query: URLSearchParams, name: string): boolean {
  return query.has(name);
}
