// S3 XML bodies: the responses the router renders and the two request bodies it parses.
// Guarantees: renderers emit the element names and order AWS emits, in the S3 namespace, with every
// client-controlled string escaped (or URL-encoded when the request asked for EncodingType=url); dates are
// ISO 8601 with milliseconds; ETags are quoted. Parsers accept at most `bytesMax` bytes, refuse DOCTYPE /
// entity declarations, never trim or type-convert keys, and return a typed value or MalformedXML
// (InvalidPartOrder / InvalidArgument where AWS uses those codes).

import { XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "./errors.ts";
import { type Tag, validateTags } from "./tagging.ts";
import { escapeXmlText } from "./xml-escape.ts";
import type { ChecksumAlgorithm } from "./checksums.ts";

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export const COMPLETE_MULTIPART_BYTES_MAX = 4 * 1024 * 1024;
export const DELETE_OBJECTS_BYTES_MAX = 2 * 1024 * 1024;
export const PART_NUMBER_MAX = 10_000;
export const DELETE_OBJECTS_COUNT_MAX = 1000;

// ---------------------------------------------------------------------------------------------------
// Building blocks

export type EncodingType = "url" | undefined;

const URL_SAFE = /[A-Za-z0-9\-_.~/]/;

/** S3's EncodingType=url: every byte outside the unreserved set and '/' percent-encoded (UTF-8). */
export function urlEncodeKey(key: string): string {
  let out = "";
  for (const character of key) {
    if (URL_SAFE.test(character)) out += character;
    else for (const byte of Buffer.from(character, "utf8")) out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function element(name: string, text: string): string {
  return `<${name}>${escapeXmlText(text)}</${name}>`;
}

function optional(name: string, text: string | undefined): string {
  return text === undefined ? "" : element(name, text);
}

/** A key-like value (key, prefix, marker, delimiter) that EncodingType=url applies to. */
function keyElement(name: string, text: string, encoding: EncodingType): string {
  return element(name, encoding === "url" ? urlEncodeKey(text) : text);
}

function optionalKey(name: string, text: string | undefined, encoding: EncodingType): string {
  return text === undefined ? "" : keyElement(name, text, encoding);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** An ETag as S3 shows it: the value in double quotes (added when missing). */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function document(root: string, body: string): string {
  return `${XML_DECLARATION}<${root} xmlns="${S3_XMLNS}">${body}</${root}>`;
}

export interface Owner {
  readonly id: string;
  readonly displayName?: string;
}

function ownerXml(name: string, owner: Owner | undefined): string {
  if (owner === undefined) return "";
  return `<${name}>${element("ID", owner.id)}${optional("DisplayName", owner.displayName)}</${name}>`;
}

export type Checksums = Readonly<Partial<Record<ChecksumAlgorithm, string>>>;

function checksumsXml(checksums: Checksums | undefined): string {
  if (checksums === undefined) return "";
  let xml = "";
  for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
    const value = checksums[algorithm];
    if (value !== undefined) xml += element(`Checksum${algorithm}`, value);
  }
  return xml;
}

// ---------------------------------------------------------------------------------------------------
// Responses

export interface BucketEntry {
  readonly name: string;
  readonly creationDateMs: number;
  readonly region?: string;
}

export function renderListAllMyBuckets(input: {
  owner: Owner;
  buckets: readonly BucketEntry[];
  continuationToken?: string;
  prefix?: string;
}): string {
  let buckets = "";
  for (const bucket of input.buckets) {
    buckets += `<Bucket>${element("Name", bucket.name)}${element("CreationDate", isoTime(bucket.creationDateMs))}${optional("BucketRegion", bucket.region)}</Bucket>`;
  }
  return document(
    "ListAllMyBucketsResult",
    `${ownerXml("Owner", input.owner)}<Buckets>${buckets}</Buckets>${optional("ContinuationToken", input.continuationToken)}${optional("Prefix", input.prefix)}`,
  );
}

export interface ObjectEntry {
  readonly key: string;
  readonly lastModifiedMs: number;
  readonly etag: string;
  readonly size: number;
  readonly storageClass?: string;
  readonly owner?: Owner;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

function contentsXml(entry: ObjectEntry, encoding: EncodingType, withOwner: boolean): string {
  return (
    "<Contents>" +
    keyElement("Key", entry.key, encoding) +
    element("LastModified", isoTime(entry.lastModifiedMs)) +
    element("ETag", quoteEtag(entry.etag)) +
    optional("ChecksumAlgorithm", entry.checksumAlgorithm) +
    element("Size", String(entry.size)) +
    (withOwner ? ownerXml("Owner", entry.owner) : "") +
    element("StorageClass", entry.storageClass ?? "STANDARD") +
    "</Contents>"
  );
}

function commonPrefixesXml(prefixes: readonly string[], encoding: EncodingType): string {
  let xml = "";
  for (const prefix of prefixes) xml += `<CommonPrefixes>${keyElement("Prefix", prefix, encoding)}</CommonPrefixes>`;
  return xml;
}

export interface ListObjectsV1Input {
  readonly bucket: string;
  readonly prefix: string;
  readonly marker: string;
  readonly maxKeys: number;
  readonly delimiter?: string;
  readonly isTruncated: boolean;
  /** Sent only when a delimiter was given (AWS leaves it out otherwise; clients use the last key). */
  readonly nextMarker?: string;
  readonly contents: readonly ObjectEntry[];
  readonly commonPrefixes: readonly string[];
  readonly encodingType?: EncodingType;
}

export function renderListObjectsV1(input: ListObjectsV1Input): string {
  const encoding = input.encodingType;
  let body =
    element("Name", input.bucket) +
    keyElement("Prefix", input.prefix, encoding) +
    keyElement("Marker", input.marker, encoding) +
    optionalKey("NextMarker", input.nextMarker, encoding) +
    element("MaxKeys", String(input.maxKeys)) +
    optionalKey("Delimiter", input.delimiter, encoding) +
    element("IsTruncated", String(input.isTruncated)) +
    optional("EncodingType", encoding);
  for (const entry of input.contents) body += contentsXml(entry, encoding, true);
  body += commonPrefixesXml(input.commonPrefixes, encoding);
  return document("ListBucketResult", body);
}

export interface ListObjectsV2Input {
  readonly bucket: string;
  readonly prefix: string;
  readonly maxKeys: number;
  readonly delimiter?: string;
  readonly isTruncated: boolean;
  readonly continuationToken?: string;
  readonly nextContinuationToken?: string;
  readonly startAfter?: string;
  readonly contents: readonly ObjectEntry[];
  readonly commonPrefixes: readonly string[];
  readonly encodingType?: EncodingType;
  /** fetch-owner=true */
  readonly fetchOwner?: boolean;
}

export function renderListObjectsV2(input: ListObjectsV2Input): string {
  const encoding = input.encodingType;
  let body =
    element("Name", input.bucket) +
    keyElement("Prefix", input.prefix, encoding) +
    element("KeyCount", String(input.contents.length + input.commonPrefixes.length)) +
    element("MaxKeys", String(input.maxKeys)) +
    optionalKey("Delimiter", input.delimiter, encoding) +
    element("IsTruncated", String(input.isTruncated)) +
    optional("ContinuationToken", input.continuationToken) +
    optional("NextContinuationToken", input.nextContinuationToken) +
    optionalKey("StartAfter", input.startAfter, encoding) +
    optional("EncodingType", encoding);
  for (const entry of input.contents) body += contentsXml(entry, encoding, input.fetchOwner === true);
  body += commonPrefixesXml(input.commonPrefixes, encoding);
  return document("ListBucketResult", body);
}

export interface ListVersionsInput {
  readonly bucket: string;
  readonly prefix: string;
  readonly keyMarker: string;
  readonly versionIdMarker: string;
  readonly maxKeys: number;
  readonly delimiter?: string;
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  /** Every version is current: versioning is never enabled, so each key has one, S3's "null" version. */
  readonly versions: readonly ObjectEntry[];
  readonly commonPrefixes: readonly string[];
  readonly encodingType: EncodingType;
}

export function renderListVersions(input: ListVersionsInput): string {
  const encoding = input.encodingType;
  let body =
    element("Name", input.bucket) +
    keyElement("Prefix", input.prefix, encoding) +
    keyElement("KeyMarker", input.keyMarker, encoding) +
    element("VersionIdMarker", input.versionIdMarker) +
    optionalKey("NextKeyMarker", input.nextKeyMarker, encoding) +
    (input.nextKeyMarker !== undefined ? element("NextVersionIdMarker", "null") : "") +
    element("MaxKeys", String(input.maxKeys)) +
    optionalKey("Delimiter", input.delimiter, encoding) +
    element("IsTruncated", String(input.isTruncated)) +
    optional("EncodingType", encoding);
  for (const entry of input.versions) {
    body +=
      "<Version>" +
      keyElement("Key", entry.key, encoding) +
      element("VersionId", "null") +
      element("IsLatest", "true") +
      element("LastModified", isoTime(entry.lastModifiedMs)) +
      element("ETag", quoteEtag(entry.etag)) +
      element("Size", String(entry.size)) +
      ownerXml("Owner", entry.owner) +
      element("StorageClass", entry.storageClass ?? "STANDARD") +
      "</Version>";
  }
  body += commonPrefixesXml(input.commonPrefixes, encoding);
  return document("ListVersionsResult", body);
}

/** The one ACL ringstore has: the owner with FULL_CONTROL (canned `private`). */
export function renderOwnerOnlyAcl(owner: Owner): string {
  const grantee = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${element("ID", owner.id)}${optional("DisplayName", owner.displayName)}</Grantee>`;
  return document("AccessControlPolicy", `${ownerXml("Owner", owner)}<AccessControlList><Grant>${grantee}<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>`);
}

/** GetBucketVersioning of a bucket whose versioning was never enabled: an empty configuration. */
export function renderVersioningNeverEnabled(): string {
  return document("VersioningConfiguration", "");
}

export function renderInitiateMultipartUpload(input: { bucket: string; key: string; uploadId: string; checksumAlgorithm?: ChecksumAlgorithm }): string {
  return document(
    "InitiateMultipartUploadResult",
    element("Bucket", input.bucket) + element("Key", input.key) + element("UploadId", input.uploadId) + optional("ChecksumAlgorithm", input.checksumAlgorithm),
  );
}

export function renderCompleteMultipartUpload(input: { location: string; bucket: string; key: string; etag: string; checksums?: Checksums; checksumType?: "COMPOSITE" | "FULL_OBJECT" }): string {
  return document(
    "CompleteMultipartUploadResult",
    element("Location", input.location) +
      element("Bucket", input.bucket) +
      element("Key", input.key) +
      element("ETag", quoteEtag(input.etag)) +
      checksumsXml(input.checksums) +
      optional("ChecksumType", input.checksumType),
  );
}

export interface PartEntry {
  readonly partNumber: number;
  readonly lastModifiedMs: number;
  readonly etag: string;
  readonly size: number;
  readonly checksums?: Checksums;
}

export function renderListParts(input: {
  bucket: string;
  key: string;
  uploadId: string;
  partNumberMarker: number;
  nextPartNumberMarker: number;
  maxParts: number;
  isTruncated: boolean;
  parts: readonly PartEntry[];
  initiator: Owner;
  owner: Owner;
  storageClass?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
}): string {
  let body =
    element("Bucket", input.bucket) +
    element("Key", input.key) +
    element("UploadId", input.uploadId) +
    element("PartNumberMarker", String(input.partNumberMarker)) +
    element("NextPartNumberMarker", String(input.nextPartNumberMarker)) +
    element("MaxParts", String(input.maxParts)) +
    element("IsTruncated", String(input.isTruncated));
  for (const part of input.parts) {
    body +=
      "<Part>" +
      element("PartNumber", String(part.partNumber)) +
      element("LastModified", isoTime(part.lastModifiedMs)) +
      element("ETag", quoteEtag(part.etag)) +
      element("Size", String(part.size)) +
      checksumsXml(part.checksums) +
      "</Part>";
  }
  body += ownerXml("Initiator", input.initiator) + ownerXml("Owner", input.owner) + element("StorageClass", input.storageClass ?? "STANDARD");
  body += optional("ChecksumAlgorithm", input.checksumAlgorithm);
  return document("ListPartsResult", body);
}

export interface UploadEntry {
  readonly key: string;
  readonly uploadId: string;
  readonly initiatedMs: number;
  readonly initiator: Owner;
  readonly owner: Owner;
  readonly storageClass?: string;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

export function renderListMultipartUploads(input: {
  bucket: string;
  keyMarker: string;
  uploadIdMarker: string;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  delimiter?: string;
  prefix: string;
  maxUploads: number;
  isTruncated: boolean;
  uploads: readonly UploadEntry[];
  commonPrefixes: readonly string[];
  encodingType?: EncodingType;
}): string {
  const encoding = input.encodingType;
  let body =
    element("Bucket", input.bucket) +
    keyElement("KeyMarker", input.keyMarker, encoding) +
    element("UploadIdMarker", input.uploadIdMarker) +
    optionalKey("NextKeyMarker", input.nextKeyMarker, encoding) +
    optional("NextUploadIdMarker", input.nextUploadIdMarker) +
    optionalKey("Delimiter", input.delimiter, encoding) +
    keyElement("Prefix", input.prefix, encoding) +
    element("MaxUploads", String(input.maxUploads)) +
    element("IsTruncated", String(input.isTruncated)) +
    optional("EncodingType", encoding);
  for (const upload of input.uploads) {
    body +=
      "<Upload>" +
      keyElement("Key", upload.key, encoding) +
      element("UploadId", upload.uploadId) +
      ownerXml("Initiator", upload.initiator) +
      ownerXml("Owner", upload.owner) +
      element("StorageClass", upload.storageClass ?? "STANDARD") +
      element("Initiated", isoTime(upload.initiatedMs)) +
      optional("ChecksumAlgorithm", upload.checksumAlgorithm) +
      "</Upload>";
  }
  body += commonPrefixesXml(input.commonPrefixes, encoding);
  return document("ListMultipartUploadsResult", body);
}

export function renderCopyObjectResult(input: { lastModifiedMs: number; etag: string; checksums?: Checksums }): string {
  return document(
    "CopyObjectResult",
    element("LastModified", isoTime(input.lastModifiedMs)) + element("ETag", quoteEtag(input.etag)) + checksumsXml(input.checksums),
  );
}

/** UploadPartCopy's answer. */
export function renderCopyPartResult(input: { lastModifiedMs: number; etag: string; checksums?: Checksums }): string {
  return document(
    "CopyPartResult",
    element("LastModified", isoTime(input.lastModifiedMs)) + element("ETag", quoteEtag(input.etag)) + checksumsXml(input.checksums),
  );
}

export interface DeletedEntry {
  readonly key: string;
  readonly versionId?: string;
}

export interface DeleteErrorEntry {
  readonly key: string;
  readonly versionId?: string;
  readonly code: string;
  readonly message: string;
}

/** DeleteObjects' answer; in quiet mode pass no `deleted` entries (only errors are reported). */
export function renderDeleteResult(input: { deleted: readonly DeletedEntry[]; errors: readonly DeleteErrorEntry[]; encodingType?: EncodingType }): string {
  const encoding = input.encodingType;
  let body = "";
  for (const entry of input.deleted) body += `<Deleted>${keyElement("Key", entry.key, encoding)}${optional("VersionId", entry.versionId)}</Deleted>`;
  for (const entry of input.errors) {
    body += `<Error>${keyElement("Key", entry.key, encoding)}${optional("VersionId", entry.versionId)}${element("Code", entry.code)}${element("Message", entry.message)}</Error>`;
  }
  return document("DeleteResult", body);
}

export function renderLocationConstraint(region: string): string {
  // us-east-1 is reported as an empty LocationConstraint, as AWS does.
  return `${XML_DECLARATION}<LocationConstraint xmlns="${S3_XMLNS}">${region === "us-east-1" ? "" : escapeXmlText(region)}</LocationConstraint>`;
}

// ---------------------------------------------------------------------------------------------------
// Request bodies

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded by decodeXmlEntities in one pass (the parser leaves numeric references alone).
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === "Part" || name === "Object" || name === "CORSRule" || name === "Rule" || name === "Tag" || name === "AllowedOrigin" || name === "AllowedMethod" || name === "AllowedHeader" || name === "ExposeHeader",
});

function malformedXml(detail?: string): S3Error {
  return new S3Error("MalformedXML", detail === undefined ? undefined : `The XML you provided was not well-formed or did not validate against our published schema: ${detail}`);
}

function parseLimited(body: Buffer | string, bytesMax: number): Record<string, unknown> | S3Error {
  const bytes = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  if (bytes > bytesMax) return malformedXml(`the body is larger than ${bytesMax} bytes`);
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return malformedXml("DOCTYPE and ENTITY declarations are not allowed");
  if (text.trim() === "") return malformedXml("the body is empty");
  if (XMLValidator.validate(text) !== true) return malformedXml();
  try {
    const parsed: unknown = parser.parse(text);
    if (typeof parsed !== "object" || parsed === null) return malformedXml();
    return parsed as Record<string, unknown>;
  } catch {
    return malformedXml();
  }
}

const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g;
const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric character references, in a single left-to-right pass. */
export function decodeXmlEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (whole, name: string | undefined, decimal: string | undefined, hex: string | undefined) => {
    if (name !== undefined) return NAMED_ENTITIES[name]!;
    const codePoint = decimal !== undefined ? Number(decimal) : parseInt(hex!, 16);
    if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return whole;
    return String.fromCodePoint(codePoint);
  });
}

/** The decoded text of a leaf element (a string in fast-xml-parser's output); undefined for anything else. */
function leafText(value: unknown): string | undefined {
  if (typeof value === "string") return decodeXmlEntities(value);
  return undefined;
}

function recordOf(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  // <Root></Root> parses to "": an empty element.
  if (value === "") return {};
  return undefined;
}

export interface CompletePart {
  readonly partNumber: number;
  /** The ETag as sent, without surrounding quotes. */
  readonly etag: string;
  readonly checksums: Checksums;
}

export interface CompleteMultipartUploadRequest {
  readonly parts: readonly CompletePart[];
}

export function unquoteEtag(etag: string): string {
  const trimmed = etag.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) return trimmed.slice(1, -1);
  // Some clients send &quot; entities that a parser has already turned into quotes; others send none.
  return trimmed;
}

export function parseCompleteMultipartUpload(
  body: Buffer | string,
  bytesMax = COMPLETE_MULTIPART_BYTES_MAX,
): { ok: true; value: CompleteMultipartUploadRequest } | { ok: false; error: S3Error } {
  const parsed = parseLimited(body, bytesMax);
  if (parsed instanceof S3Error) return { ok: false, error: parsed };
  const root = recordOf(parsed["CompleteMultipartUpload"]);
  if (root === undefined) return { ok: false, error: malformedXml("the root element must be CompleteMultipartUpload") };
  const partsRaw = root["Part"];
  if (!Array.isArray(partsRaw) || partsRaw.length === 0) {
    return { ok: false, error: malformedXml("CompleteMultipartUpload needs at least one Part") };
  }
  if (partsRaw.length > PART_NUMBER_MAX) return { ok: false, error: malformedXml(`more than ${PART_NUMBER_MAX} parts`) };
  const parts: CompletePart[] = [];
  for (const partRaw of partsRaw) {
    const part = recordOf(partRaw);
    const numberText = leafText(part?.["PartNumber"])?.trim();
    const etagText = leafText(part?.["ETag"]);
    if (part === undefined || numberText === undefined || etagText === undefined || !/^\d{1,5}$/.test(numberText)) {
      return { ok: false, error: malformedXml("each Part needs a PartNumber and an ETag") };
    }
    const partNumber = Number(numberText);
    if (partNumber < 1 || partNumber > PART_NUMBER_MAX) {
      return { ok: false, error: new S3Error("InvalidArgument", `Part number must be an integer between 1 and ${PART_NUMBER_MAX}, inclusive`) };
    }
    const previous = parts[parts.length - 1];
    if (previous !== undefined && partNumber <= previous.partNumber) return { ok: false, error: new S3Error("InvalidPartOrder") };
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const algorithm of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
      const value = leafText(part[`Checksum${algorithm}`]);
      if (value !== undefined) checksums[algorithm] = value.trim();
    }
    parts.push({ partNumber, etag: unquoteEtag(etagText), checksums });
  }
  return { ok: true, value: { parts } };
}

export interface DeleteObjectsRequest {
  readonly quiet: boolean;
  readonly objects: readonly { readonly key: string; readonly versionId?: string }[];
}

export function parseDeleteObjects(
  body: Buffer | string,
  bytesMax = DELETE_OBJECTS_BYTES_MAX,
): { ok: true; value: DeleteObjectsRequest } | { ok: false; error: S3Error } {
  const parsed = parseLimited(body, bytesMax);
  if (parsed instanceof S3Error) return { ok: false, error: parsed };
  const root = recordOf(parsed["Delete"]);
  if (root === undefined) return { ok: false, error: malformedXml("the root element must be Delete") };
  const quietText = leafText(root["Quiet"])?.trim().toLowerCase();
  if (quietText !== undefined && quietText !== "true" && quietText !== "false") return { ok: false, error: malformedXml("Quiet must be true or false") };
  const objectsRaw = root["Object"];
  if (!Array.isArray(objectsRaw) || objectsRaw.length === 0) return { ok: false, error: malformedXml("Delete needs at least one Object") };
  if (objectsRaw.length > DELETE_OBJECTS_COUNT_MAX) return { ok: false, error: malformedXml(`more than ${DELETE_OBJECTS_COUNT_MAX} objects`) };
  const objects: { key: string; versionId?: string }[] = [];
  for (const objectRaw of objectsRaw) {
    const object = recordOf(objectRaw);
    const key = leafText(object?.["Key"]);
    if (object === undefined || key === undefined || key === "") return { ok: false, error: malformedXml("each Object needs a Key") };
    const versionId = leafText(object["VersionId"]);
    objects.push(versionId === undefined ? { key } : { key, versionId });
  }
  return { ok: true, value: { quiet: quietText === "true", objects } };
}

/**
 * A PutObjectAcl / PutBucketAcl body: ok when it grants exactly what `private` grants (the owner
 * FULL_CONTROL and nothing else), the only ACL ringstore has; NotImplemented for any other grant.
 */
export function parseOwnerOnlyAcl(body: Buffer | string, ownerId: string): S3Error | undefined {
  const parsed = parseLimited(body, 64 * 1024);
  if (parsed instanceof S3Error) return parsed;
  const policy = recordOf(parsed.AccessControlPolicy);
  if (policy === undefined) return malformedXml("expected an AccessControlPolicy");
  const list = recordOf(policy.AccessControlList);
  const raw = list?.Grant;
  const grants = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const onlyOwner =
    grants.length === 1 &&
    leafText(recordOf(recordOf(grants[0])?.Grantee)?.ID) === ownerId &&
    leafText(recordOf(grants[0])?.Permission) === "FULL_CONTROL";
  if (!onlyOwner) return new S3Error("NotImplemented", "Only the canned ACL private (the owner with FULL_CONTROL) is implemented by ringstore.");
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// CORS configuration (PutBucketCors / GetBucketCors)

export interface CorsRule {
  readonly id?: string;
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

export const CORS_RULES_MAX = 100;
export const CORS_CONFIGURATION_BYTES_MAX = 64 * 1024;
const CORS_METHODS = new Set(["GET", "PUT", "POST", "DELETE", "HEAD"]);

function leafTexts(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    const text = leafText(item);
    if (text === undefined) return undefined;
    out.push(text.trim());
  }
  return out;
}

export function parseCorsConfiguration(body: Buffer | string): { ok: true; value: CorsRule[] } | { ok: false; error: S3Error } {
  const parsed = parseLimited(body, CORS_CONFIGURATION_BYTES_MAX);
  if (parsed instanceof S3Error) return { ok: false, error: parsed };
  const root = recordOf(parsed["CORSConfiguration"]);
  if (root === undefined) return { ok: false, error: malformedXml("the root element must be CORSConfiguration") };
  const rulesRaw = root["CORSRule"];
  if (!Array.isArray(rulesRaw) || rulesRaw.length === 0) return { ok: false, error: malformedXml("CORSConfiguration needs at least one CORSRule") };
  if (rulesRaw.length > CORS_RULES_MAX) return { ok: false, error: malformedXml(`more than ${CORS_RULES_MAX} CORSRule elements`) };
  const rules: CorsRule[] = [];
  for (const raw of rulesRaw) {
    const rule = recordOf(raw);
    if (rule === undefined) return { ok: false, error: malformedXml("a CORSRule is not an element") };
    const origins = leafTexts(rule["AllowedOrigin"]);
    const methods = leafTexts(rule["AllowedMethod"]);
    const headers = leafTexts(rule["AllowedHeader"]);
    const expose = leafTexts(rule["ExposeHeader"]);
    if (!origins || !methods || !headers || !expose || origins.length === 0 || methods.length === 0) return { ok: false, error: malformedXml("a CORSRule needs AllowedOrigin and AllowedMethod") };
    for (const method of methods) if (!CORS_METHODS.has(method)) return { ok: false, error: new S3Error("InvalidRequest", `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`) };
    for (const origin of origins) if (origin.split("*").length > 2) return { ok: false, error: new S3Error("InvalidRequest", `AllowedOrigin "${origin}" can not have more than one wildcard.`) };
    for (const header of headers) if (header.split("*").length > 2) return { ok: false, error: new S3Error("InvalidRequest", `AllowedHeader "${header}" can not have more than one wildcard.`) };
    const maxAgeText = leafText(rule["MaxAgeSeconds"])?.trim();
    if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) return { ok: false, error: malformedXml("MaxAgeSeconds must be a number") };
    const id = leafText(rule["ID"])?.trim();
    rules.push({
      ...(id ? { id } : {}),
      allowedOrigins: origins,
      allowedMethods: methods,
      allowedHeaders: headers,
      exposeHeaders: expose,
      ...(maxAgeText !== undefined ? { maxAgeSeconds: Number(maxAgeText) } : {}),
    });
  }
  return { ok: true, value: rules };
}

export function renderCorsConfiguration(rules: readonly CorsRule[]): string {
  let body = "";
  for (const rule of rules) {
    body += "<CORSRule>" + optional("ID", rule.id);
    for (const origin of rule.allowedOrigins) body += element("AllowedOrigin", origin);
    for (const method of rule.allowedMethods) body += element("AllowedMethod", method);
    for (const header of rule.allowedHeaders) body += element("AllowedHeader", header);
    for (const header of rule.exposeHeaders) body += element("ExposeHeader", header);
    body += optional("MaxAgeSeconds", rule.maxAgeSeconds === undefined ? undefined : String(rule.maxAgeSeconds)) + "</CORSRule>";
  }
  return document("CORSConfiguration", body);
}

// ---------------------------------------------------------------------------------------------------
// Lifecycle configuration: only AbortIncompleteMultipartUpload rules are implemented

export interface AbortUploadsRule {
  readonly id?: string;
  readonly prefix: string;
  readonly enabled: boolean;
  readonly daysAfterInitiation: number;
}

export const LIFECYCLE_RULES_MAX = 1000;
export const LIFECYCLE_CONFIGURATION_BYTES_MAX = 64 * 1024;
const LIFECYCLE_ACTIONS_NOT_IMPLEMENTED = ["Expiration", "Transition", "NoncurrentVersionExpiration", "NoncurrentVersionTransition"];

export function parseLifecycleConfiguration(body: Buffer | string): { ok: true; value: AbortUploadsRule[] } | { ok: false; error: S3Error } {
  const parsed = parseLimited(body, LIFECYCLE_CONFIGURATION_BYTES_MAX);
  if (parsed instanceof S3Error) return { ok: false, error: parsed };
  const root = recordOf(parsed["LifecycleConfiguration"]);
  if (root === undefined) return { ok: false, error: malformedXml("the root element must be LifecycleConfiguration") };
  const rulesRaw = root["Rule"];
  if (!Array.isArray(rulesRaw) || rulesRaw.length === 0) return { ok: false, error: malformedXml("LifecycleConfiguration needs at least one Rule") };
  if (rulesRaw.length > LIFECYCLE_RULES_MAX) return { ok: false, error: malformedXml(`more than ${LIFECYCLE_RULES_MAX} rules`) };
  const rules: AbortUploadsRule[] = [];
  for (const raw of rulesRaw) {
    const rule = recordOf(raw);
    if (rule === undefined) return { ok: false, error: malformedXml("a Rule is not an element") };
    for (const action of LIFECYCLE_ACTIONS_NOT_IMPLEMENTED) {
      if (rule[action] !== undefined) return { ok: false, error: new S3Error("NotImplemented", `Lifecycle ${action} is not implemented by ringstore: only AbortIncompleteMultipartUpload is.`) };
    }
    const status = leafText(rule["Status"])?.trim();
    if (status !== "Enabled" && status !== "Disabled") return { ok: false, error: malformedXml("Status must be Enabled or Disabled") };
    const filter = recordOf(rule["Filter"]);
    if (filter !== undefined && (filter["Tag"] !== undefined || filter["And"] !== undefined || filter["ObjectSizeGreaterThan"] !== undefined || filter["ObjectSizeLessThan"] !== undefined)) {
      return { ok: false, error: new S3Error("NotImplemented", "Lifecycle filters other than Prefix are not implemented by ringstore.") };
    }
    const prefix = leafText(filter?.["Prefix"] ?? rule["Prefix"]) ?? "";
    const abort = recordOf(rule["AbortIncompleteMultipartUpload"]);
    const daysText = leafText(abort?.["DaysAfterInitiation"])?.trim();
    if (abort === undefined || daysText === undefined || !/^\d{1,6}$/.test(daysText) || Number(daysText) < 1) {
      return { ok: false, error: malformedXml("each Rule needs AbortIncompleteMultipartUpload with DaysAfterInitiation of 1 or more") };
    }
    const id = leafText(rule["ID"])?.trim();
    rules.push({ ...(id ? { id } : {}), prefix, enabled: status === "Enabled", daysAfterInitiation: Number(daysText) });
  }
  return { ok: true, value: rules };
}

export function renderLifecycleConfiguration(rules: readonly AbortUploadsRule[]): string {
  let body = "";
  for (const rule of rules) {
    body +=
      "<Rule>" +
      optional("ID", rule.id) +
      `<Filter>${element("Prefix", rule.prefix)}</Filter>` +
      element("Status", rule.enabled ? "Enabled" : "Disabled") +
      `<AbortIncompleteMultipartUpload>${element("DaysAfterInitiation", String(rule.daysAfterInitiation))}</AbortIncompleteMultipartUpload>` +
      "</Rule>";
  }
  return document("LifecycleConfiguration", body);
}

// ---------------------------------------------------------------------------------------------------
// PutObjectTagging

export const TAGGING_BYTES_MAX = 64 * 1024;

/** The Tagging XML of PutObjectTagging, validated against S3's limits (runtime/s3/tagging.ts). */
export function parseTagging(body: Buffer | string): { ok: true; value: readonly Tag[] } | { ok: false; error: S3Error } {
  const parsed = parseLimited(body, TAGGING_BYTES_MAX);
  if (parsed instanceof S3Error) return { ok: false, error: parsed };
  const root = recordOf(parsed["Tagging"]);
  const set = root === undefined ? undefined : recordOf(root["TagSet"]);
  if (set === undefined) return { ok: false, error: malformedXml("expected Tagging with a TagSet") };
  const raw = set["Tag"];
  const tags: Tag[] = [];
  for (const item of raw === undefined ? [] : (raw as unknown[])) {
    const tag = recordOf(item);
    const key = leafText(tag?.["Key"]);
    const value = tag?.["Value"] === undefined ? "" : leafText(tag["Value"]);
    if (key === undefined || value === undefined) return { ok: false, error: malformedXml("each Tag needs a Key and a Value") };
    tags.push({ key, value });
  }
  try {
    return { ok: true, value: validateTags(tags) };
  } catch (error) {
    return { ok: false, error: error as S3Error };
  }
}
