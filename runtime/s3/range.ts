// HTTP Range for GetObject/HeadObject, the way S3 reads it.
// Guarantees: parseRange returns either "none" (serve the whole object with 200), a single satisfiable
// range with 0 <= start <= endInclusive < size (serve 206 with contentRange()), or an InvalidRange
// S3Error (416, send Content-Range: bytes */size via contentRangeUnsatisfied()).
// S3 behaviour followed here (and documented, because it differs from a strict RFC 9110 server):
//  - an absent header, a header that is not "bytes=...", a syntactically invalid range (e.g. "bytes=5-2",
//    "bytes=abc") and a multi-range header ("bytes=0-1,5-6") are all ignored: the whole object is served;
//  - "bytes=a-b" with a >= size is InvalidRange; b beyond the end is cut to size-1;
//  - "bytes=-n" is the last n bytes (the whole object when n >= size); n = 0, or any suffix range on an
//    empty object, is InvalidRange.

import { S3Error } from "./errors.ts";

export type RangeResult =
  | { readonly kind: "none" }
  | { readonly kind: "range"; readonly start: number; readonly endInclusive: number }
  | { readonly kind: "unsatisfiable"; readonly error: S3Error };

const RANGE_HEADER_LENGTH_MAX = 256;
const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

function unsatisfiable(size: number): RangeResult {
  return {
    kind: "unsatisfiable",
    error: new S3Error("InvalidRange", undefined, { extra: { ActualObjectSize: String(size) } }),
  };
}

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`object size ${size} is not a non-negative integer`);
  if (header === undefined || header.length > RANGE_HEADER_LENGTH_MAX) return { kind: "none" };
  const match = SINGLE_RANGE.exec(header.replace(/\s+/g, ""));
  if (match === null) return { kind: "none" };
  const firstText = match[1] ?? "";
  const lastText = match[2] ?? "";
  if (firstText === "" && lastText === "") return { kind: "none" };
  // Digits beyond 2^53 are not a size any object has: they behave as "beyond the end".
  const first = firstText === "" ? undefined : Number(firstText);
  const last = lastText === "" ? undefined : Number(lastText);

  if (first === undefined) {
    const suffixLength = last!;
    if (suffixLength === 0 || size === 0) return unsatisfiable(size);
    return { kind: "range", start: Math.max(0, size - suffixLength), endInclusive: size - 1 };
  }
  if (last !== undefined && last < first) return { kind: "none" };
  if (first >= size) return unsatisfiable(size);
  const endInclusive = last === undefined ? size - 1 : Math.min(last, size - 1);
  return { kind: "range", start: first, endInclusive };
}

/** Content-Range for a 206 answer: "bytes start-end/size". */
export function contentRange(start: number, endInclusive: number, size: number): string {
  if (!(0 <= start && start <= endInclusive && endInclusive < size)) {
    throw new Error(`range ${start}-${endInclusive} outside object of ${size} bytes`);
  }
  return `bytes ${start}-${endInclusive}/${size}`;
}

/** Content-Range for a 416 answer: "bytes *\/size". */
export function contentRangeUnsatisfied(size: number): string {
  return `bytes */${size}`;
}

/**
 * The bytes a Range header names before the object's size is known, for asking a replica for them together
 * with its answer: the whole body, a range from a known start (its end is cut to the size where it is served,
 * as parseRange cuts it), or nothing to ask yet (a suffix range, or one no object could satisfy, needs the size).
 */
export type RangeBeforeSize = { readonly kind: "whole" } | { readonly kind: "from"; readonly start: number; readonly endInclusive: number } | { readonly kind: "needs-size" };

export function rangeBeforeSize(header: string | undefined): RangeBeforeSize {
  if (header !== undefined && header.length <= RANGE_HEADER_LENGTH_MAX && SINGLE_RANGE.exec(header.replace(/\s+/g, ""))?.[1] === "") return { kind: "needs-size" };
  const unbounded = parseRange(header, Number.MAX_SAFE_INTEGER);
  if (unbounded.kind === "none") return { kind: "whole" };
  if (unbounded.kind === "unsatisfiable") return { kind: "needs-size" };
  return { kind: "from", start: unbounded.start, endInclusive: unbounded.endInclusive };
}
