// Which S3 operation a request names: (method, scope, sub-resource) → one operation, by an explicit table.
// Guarantees: every request resolves to exactly one entry of OPERATIONS or to an S3Error; a request that
// names a sub-resource the table does not hold is `501 NotImplemented` and never reaches an object or
// bucket handler (before this table, `PUT ?tagging` overwrote the object with the Tagging XML). A request
// naming two sub-resources is refused the same way, since S3 defines no such operation.
// Assumes: S3 sub-resources are query parameters from a fixed list (SUBRESOURCES, from the S3 API reference);
// every other query parameter is an ordinary parameter of the operation (prefix, max-keys, x-id, …) or one
// S3 ignores, so it cannot change which operation runs.
import { S3Error } from "./errors.ts";

export type Scope = "service" | "bucket" | "object";

/**
 * Every sub-resource the S3 API reference names (REST API, bucket and object operations). `uploads`,
 * `uploadId` and `delete` are the multipart and batch-delete ones; `versionId` is handled on its own.
 */
export const SUBRESOURCES = [
  "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
  "inventory", "legal-hold", "lifecycle", "location", "logging", "metadataConfiguration", "metadataTable",
  "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
  "publicAccessBlock", "renameObject", "replication", "requestPayment", "restore", "retention", "select",
  "session", "tagging", "torrent", "uploadId", "uploads", "versioning", "versions", "website",
] as const;

export type Subresource = (typeof SUBRESOURCES)[number];

const SUBRESOURCE_SET: ReadonlySet<string> = new Set(SUBRESOURCES);

type Method = "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
const METHODS: ReadonlySet<string> = new Set<Method>(["GET", "HEAD", "PUT", "POST", "DELETE"]);
type RowKey = `${Method} ${Subresource | "-"}`;

/**
 * The whole S3 surface the router serves, per scope. A key missing here is NotImplemented (when it names
 * a sub-resource) or MethodNotAllowed (a plain method the resource does not take). PutObject covers
 * CopyObject and UploadPart covers UploadPartCopy: those differ only by `x-amz-copy-source`.
 */
const OPERATIONS = {
  service: { "GET -": "ListBuckets" },
  bucket: {
    "PUT -": "CreateBucket",
    "HEAD -": "HeadBucket",
    "DELETE -": "DeleteBucket",
    "GET -": "ListObjects",
    "GET uploads": "ListMultipartUploads",
    "GET location": "GetBucketLocation",
    "GET versioning": "GetBucketVersioning",
    "GET versions": "ListObjectVersions",
    "GET acl": "GetBucketAcl",
    "PUT acl": "PutBucketAcl",
    "PUT cors": "PutBucketCors",
    "GET cors": "GetBucketCors",
    "DELETE cors": "DeleteBucketCors",
    "PUT lifecycle": "PutBucketLifecycleConfiguration",
    "GET lifecycle": "GetBucketLifecycleConfiguration",
    "DELETE lifecycle": "DeleteBucketLifecycle",
    "POST delete": "DeleteObjects",
  },
  object: {
    "PUT -": "PutObject",
    "GET -": "GetObject",
    "HEAD -": "HeadObject",
    "DELETE -": "DeleteObject",
    "GET acl": "GetObjectAcl",
    "PUT acl": "PutObjectAcl",
    "GET tagging": "GetObjectTagging",
    "PUT tagging": "PutObjectTagging",
    "DELETE tagging": "DeleteObjectTagging",
    "POST uploads": "CreateMultipartUpload",
    "PUT uploadId": "UploadPart",
    "POST uploadId": "CompleteMultipartUpload",
    "DELETE uploadId": "AbortMultipartUpload",
    "GET uploadId": "ListParts",
  },
} as const satisfies { readonly [S in Scope]: { readonly [K in RowKey]?: string } };

type Table = typeof OPERATIONS;
export type OperationOf<S extends Scope> = S extends Scope ? Table[S][keyof Table[S]] : never;
export type OperationName = OperationOf<Scope>;

/** The operation a request names, tagged with its scope so that handlers are chosen per scope. */
export type ResolvedOperation =
  | { readonly scope: "service"; readonly name: OperationOf<"service"> }
  | { readonly scope: "bucket"; readonly name: OperationOf<"bucket"> }
  | { readonly scope: "object"; readonly name: OperationOf<"object"> };

/** Every (scope, method, sub-resource) the table serves: for tests and the README. */
export function servedOperations(): { scope: Scope; method: Method; subresource: Subresource | null; name: OperationName }[] {
  const rows: { scope: Scope; method: Method; subresource: Subresource | null; name: OperationName }[] = [];
  for (const [scope, table] of Object.entries(OPERATIONS) as [Scope, Record<string, OperationName>][]) {
    for (const [key, name] of Object.entries(table)) {
      const [method, sub] = key.split(" ") as [Method, string];
      rows.push({ scope, method, subresource: sub === "-" ? null : (sub as Subresource), name });
    }
  }
  return rows;
}

/** The sub-resources a query names, in the order given. */
export function subresourcesOf(query: URLSearchParams): Subresource[] {
  const found: Subresource[] = [];
  for (const name of query.keys()) if (SUBRESOURCE_SET.has(name) && !found.includes(name as Subresource)) found.push(name as Subresource);
  return found;
}

export function resolveOperation(method: string, scope: Scope, query: URLSearchParams): ResolvedOperation {
  if (!METHODS.has(method)) throw new S3Error("MethodNotAllowed");
  const named = subresourcesOf(query);
  if (named.length > 1) throw notImplemented(`${method} with ?${named.join("&")}`);
  const subresource = named[0] ?? null;
  const row: Readonly<Record<string, OperationName>> = OPERATIONS[scope];
  const name = row[`${method} ${subresource ?? "-"}`];
  if (name === undefined) {
    if (subresource === null) throw new S3Error("MethodNotAllowed");
    throw notImplemented(`${method} ?${subresource} on ${scope === "object" ? "an object" : scope === "bucket" ? "a bucket" : "the service"}`);
  }
  // GetObject/HeadObject by part number would answer with a part's bytes and headers; the plain GET would not.
  if (query.has("partNumber") && name !== "UploadPart") throw notImplemented(`${method} with ?partNumber`);
  // Versioning is never enabled, so the only version that exists is S3's "null" version.
  const versionId = query.get("versionId");
  if (versionId !== null && versionId !== "null") throw new S3Error("InvalidArgument", "Invalid version id specified", { extra: { ArgumentName: "versionId", ArgumentValue: versionId } });
  return { scope, name } as ResolvedOperation;
}

function notImplemented(what: string): S3Error {
  return new S3Error("NotImplemented", `${what} is not implemented by ringstore.`);
}

// ---- request headers that change an operation's meaning ----
// A client that sends one of these expects its effect (encryption, retention, a storage class, tags); doing
// the plain operation instead would silently break that promise, so each is refused as AWS would refuse a
// feature the bucket does not have.

type HeaderVerdict = { readonly code: "NotImplemented" | "InvalidRequest" | "InvalidStorageClass" | "InvalidArgument"; readonly message: string };

const STORAGE_CLASSES_SERVED = new Set(["STANDARD"]);
const STORAGE_CLASSES_KNOWN = new Set(["STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"]);

function headerVerdict(name: string, value: string): HeaderVerdict | undefined {
  if (name.startsWith("x-amz-server-side-encryption")) return { code: "NotImplemented", message: `Server-side encryption (${name}) is not implemented by ringstore.` };
  if (name.startsWith("x-amz-copy-source-server-side-encryption")) return { code: "NotImplemented", message: `Server-side encryption (${name}) is not implemented by ringstore.` };
  if (name.startsWith("x-amz-object-lock-") || name === "x-amz-bypass-governance-retention") return { code: "InvalidRequest", message: "Bucket is missing Object Lock Configuration" };
  if (name === "x-amz-request-payer") return { code: "NotImplemented", message: "Requester Pays is not implemented by ringstore." };
  if (name === "x-amz-mfa") return { code: "NotImplemented", message: "MFA Delete is not implemented by ringstore." };
  if (name === "x-amz-website-redirect-location") return { code: "NotImplemented", message: "Website redirects are not implemented by ringstore." };
  if (name.startsWith("x-amz-grant-")) return { code: "NotImplemented", message: "ACL grants are not implemented by ringstore: only the canned ACL private is." };
  if (name === "x-amz-acl" && value !== "private") return { code: "NotImplemented", message: `The canned ACL ${value} is not implemented by ringstore: only private is.` };
  if (name === "x-amz-write-offset-bytes") return { code: "NotImplemented", message: "Appends are not implemented by ringstore." };
  if (name === "x-amz-storage-class" && !STORAGE_CLASSES_SERVED.has(value)) {
    if (!STORAGE_CLASSES_KNOWN.has(value)) return { code: "InvalidStorageClass", message: "The storage class you specified is not valid" };
    return { code: "NotImplemented", message: `The storage class ${value} is not implemented by ringstore: only STANDARD is.` };
  }
  return undefined;
}

/** Refuses a request whose headers ask for a behaviour the router does not have; touches nothing. */
export function refuseUnsupportedHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): void {
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith("x-amz-") || raw === undefined) continue;
    const value = (Array.isArray(raw) ? raw.join(",") : raw).trim();
    const verdict = headerVerdict(name, value);
    if (verdict !== undefined) throw new S3Error(verdict.code, verdict.message);
  }
}
