// Bucket names and object keys as S3 accepts them.
// Guarantees: validateBucketName accepts exactly the names AWS accepts for new general-purpose buckets
// (3-63 chars of a-z 0-9 . -, alphanumeric at both ends, no "..", not an IPv4 address, not starting with
// "xn--", "sthree-" or "amzn-s3-demo-", not ending with "-s3alias", "--ol-s3" or ".mrap"); a name starting
// with '-' is never valid for a client because those names are reserved for ringstore's own system buckets
// (e.g. "-system"). validateObjectKey accepts 1..1024 bytes of UTF-8.

import { S3Error } from "./errors.ts";

export const BUCKET_NAME_LENGTH_MIN = 3;
export const BUCKET_NAME_LENGTH_MAX = 63;
export const OBJECT_KEY_BYTES_MAX = 1024;

const BUCKET_NAME_SHAPE = /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/;
const IPV4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const PREFIXES_RESERVED = ["xn--", "sthree-", "amzn-s3-demo-"] as const;
const SUFFIXES_RESERVED = ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] as const;

/** True for names ringstore keeps for itself (system buckets); no client may create or address them. */
export function isReservedBucketName(name: string): boolean {
  return name.startsWith("-");
}

/** Why a bucket name is invalid, or undefined when it is valid for a client. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < BUCKET_NAME_LENGTH_MIN) return `bucket name shorter than ${BUCKET_NAME_LENGTH_MIN} characters`;
  if (name.length > BUCKET_NAME_LENGTH_MAX) return `bucket name longer than ${BUCKET_NAME_LENGTH_MAX} characters`;
  if (isReservedBucketName(name)) return "bucket names starting with '-' are reserved";
  if (!BUCKET_NAME_SHAPE.test(name)) {
    return "bucket names use only lowercase letters, digits, '.' and '-', and start and end with a letter or digit";
  }
  if (name.includes("..")) return "bucket names must not contain two adjacent periods";
  if (IPV4_SHAPE.test(name)) return "bucket names must not be formatted as an IP address";
  for (const prefix of PREFIXES_RESERVED) if (name.startsWith(prefix)) return `bucket names must not start with '${prefix}'`;
  for (const suffix of SUFFIXES_RESERVED) if (name.endsWith(suffix)) return `bucket names must not end with '${suffix}'`;
  return undefined;
}

export function isValidBucketName(name: string): boolean {
  return bucketNameProblem(name) === undefined;
}

/** InvalidBucketName (with the reason and the name) or undefined when the name is valid. */
export function validateBucketName(name: string): S3Error | undefined {
  const problem = bucketNameProblem(name);
  if (problem === undefined) return undefined;
  return new S3Error("InvalidBucketName", `The specified bucket is not valid: ${problem}.`, { extra: { BucketName: name } });
}

/** KeyTooLongError above 1024 UTF-8 bytes, InvalidArgument for an empty key, else undefined. */
export function validateObjectKey(key: string): S3Error | undefined {
  if (key.length === 0) return new S3Error("InvalidArgument", "Object key must not be empty.");
  // A string of n UTF-16 units encodes to at most 3n bytes; skip the count for short keys.
  if (key.length * 3 > OBJECT_KEY_BYTES_MAX && Buffer.byteLength(key, "utf8") > OBJECT_KEY_BYTES_MAX) {
    return new S3Error("KeyTooLongError", undefined, {
      extra: { MaxSizeAllowed: String(OBJECT_KEY_BYTES_MAX), Size: String(Buffer.byteLength(key, "utf8")) },
    });
  }
  return undefined;
}
