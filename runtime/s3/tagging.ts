// Object tags: the set S3 keeps with each object version, its limits, and its two wire forms (the
// `x-amz-tagging` header's query string and the Tagging XML of Put/GetObjectTagging).
// Guarantees: a TagSet that passes validateTags has at most 10 tags, unique keys of 1..128 characters and
// values of at most 256, as S3 enforces; anything else is S3's InvalidTag (400) and nothing is stored.
import { S3Error } from "./errors.ts";
import { escapeXmlText } from "./xml-escape.ts";

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export const TAGS_PER_OBJECT_MAX = 10;
export const TAG_KEY_CHARS_MAX = 128;
export const TAG_VALUE_CHARS_MAX = 256;

/** Characters, as S3 counts them (code points, not UTF-16 units). */
const lengthOf = (text: string): number => [...text].length;

export function validateTags(tags: readonly Tag[]): readonly Tag[] {
  if (tags.length > TAGS_PER_OBJECT_MAX) throw new S3Error("InvalidTag", `Object tags cannot be greater than ${TAGS_PER_OBJECT_MAX}`);
  const seen = new Set<string>();
  for (const tag of tags) {
    if (lengthOf(tag.key) < 1 || lengthOf(tag.key) > TAG_KEY_CHARS_MAX) throw new S3Error("InvalidTag", "The TagKey you have provided is invalid");
    if (lengthOf(tag.value) > TAG_VALUE_CHARS_MAX) throw new S3Error("InvalidTag", "The TagValue you have provided is invalid");
    if (seen.has(tag.key)) throw new S3Error("InvalidTag", "Cannot provide multiple Tags with the same key");
    seen.add(tag.key);
  }
  return tags;
}

/** The `x-amz-tagging` header (PutObject, CreateMultipartUpload): `k1=v1&k2=v2`, URL-encoded. */
export function parseTaggingHeader(header: string): readonly Tag[] {
  const tags: Tag[] = [];
  for (const [key, value] of new URLSearchParams(header)) tags.push({ key, value });
  return validateTags(tags);
}

/** The form tags are stored in, with the version (a user-metadata value): the header's own encoding. */
export function encodeTags(tags: readonly Tag[]): string {
  return new URLSearchParams(tags.map((t): [string, string] => [t.key, t.value])).toString();
}

export function decodeTags(stored: string | undefined): readonly Tag[] {
  if (stored === undefined || stored === "") return [];
  return [...new URLSearchParams(stored)].map(([key, value]) => ({ key, value }));
}

export function renderTagging(tags: readonly Tag[]): string {
  let set = "";
  for (const tag of tags) set += `<Tag><Key>${escapeXmlText(tag.key)}</Key><Value>${escapeXmlText(tag.value)}</Value></Tag>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${set}</TagSet></Tagging>`;
}
