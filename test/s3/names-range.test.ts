// Bucket-name and key validation, and Range parsing, against S3's documented rules.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isReservedBucketName, isValidBucketName, validateBucketName, validateObjectKey } from "../../runtime/s3/names.ts";
import { contentRange, contentRangeUnsatisfied, parseRange, rangeBeforeSize } from "../../runtime/s3/range.ts";

describe("bucket names", () => {
  it("accepts S3-valid names", () => {
    for (const name of ["abc", "my-bucket", "my.bucket.name", "a".repeat(63), "123", "1-2.3", "xn-a", "s3alias-ok"]) {
      expect(isValidBucketName(name), name).toBe(true);
    }
  });

  it("refuses names S3 refuses, and names starting with '-' (reserved for ringstore)", () => {
    for (const name of [
      "ab",
      "a".repeat(64),
      "My-Bucket",
      "my_bucket",
      "-system",
      "bucket-",
      ".bucket",
      "bucket.",
      "my..bucket",
      "192.168.5.4",
      "xn--bucket",
      "bucket-s3alias",
      "bucket--ol-s3",
      "sthree-bucket",
      "ünï",
      "a b",
    ]) {
      expect(isValidBucketName(name), name).toBe(false);
    }
    expect(isReservedBucketName("-system")).toBe(true);
    expect(validateBucketName("-system")).toMatchObject({ code: "InvalidBucketName", status: 400, extra: { BucketName: "-system" } });
    expect(validateBucketName("good-name")).toBeUndefined();
  });

  it("every valid name matches the S3 character rules", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9.-]{1,70}$/), (name) => {
        if (isValidBucketName(name)) {
          expect(name.length).toBeGreaterThanOrEqual(3);
          expect(name.length).toBeLessThanOrEqual(63);
          expect(name).toMatch(/^[a-z0-9].*[a-z0-9]$/);
          expect(name).not.toContain("..");
        }
      }),
    );
  });
});

describe("object keys", () => {
  it("accepts 1..1024 UTF-8 bytes and answers KeyTooLongError beyond", () => {
    expect(validateObjectKey("a")).toBeUndefined();
    expect(validateObjectKey("a".repeat(1024))).toBeUndefined();
    expect(validateObjectKey("€".repeat(341))).toBeUndefined(); // 1023 bytes
    expect(validateObjectKey("a".repeat(1025))).toMatchObject({ code: "KeyTooLongError", status: 400 });
    expect(validateObjectKey("€".repeat(342))).toMatchObject({ code: "KeyTooLongError" }); // 1026 bytes in 342 characters
    expect(validateObjectKey("")).toMatchObject({ code: "InvalidArgument" });
  });
});

describe("Range", () => {
  it("reads the three single-range forms", () => {
    expect(parseRange("bytes=0-4", 10)).toEqual({ kind: "range", start: 0, endInclusive: 4 });
    expect(parseRange("bytes=5-", 10)).toEqual({ kind: "range", start: 5, endInclusive: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ kind: "range", start: 7, endInclusive: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ kind: "range", start: 0, endInclusive: 9 });
    expect(parseRange("bytes=8-100", 10)).toEqual({ kind: "range", start: 8, endInclusive: 9 });
    expect(parseRange("bytes=9-9", 10)).toEqual({ kind: "range", start: 9, endInclusive: 9 });
  });

  it("answers InvalidRange (416) when the start is at or past the end", () => {
    for (const [header, size] of [["bytes=10-", 10], ["bytes=10-20", 10], ["bytes=0-0", 0], ["bytes=-0", 10], ["bytes=-5", 0]] as const) {
      const result = parseRange(header, size);
      expect(result.kind, header).toBe("unsatisfiable");
      if (result.kind === "unsatisfiable") expect(result.error).toMatchObject({ code: "InvalidRange", status: 416 });
    }
  });

  it("ignores absent, invalid and multi-range headers (the whole object is served)", () => {
    for (const header of [undefined, "", "bytes=", "bytes=-", "bytes=5-2", "bytes=a-b", "items=0-1", "bytes=0-1,3-4", "bytes 0-1"]) {
      expect(parseRange(header, 10), String(header)).toEqual({ kind: "none" });
    }
  });

  it("any satisfiable range lies inside the object", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.option(fc.nat({ max: 2000 })), fc.option(fc.nat({ max: 2000 })), (size, first, last) => {
        const header = `bytes=${first ?? ""}-${last ?? ""}`;
        const result = parseRange(header, size);
        if (result.kind === "range") {
          expect(0 <= result.start && result.start <= result.endInclusive && result.endInclusive < size).toBe(true);
          expect(contentRange(result.start, result.endInclusive, size)).toBe(`bytes ${result.start}-${result.endInclusive}/${size}`);
        }
      }),
    );
  });

  it("builds Content-Range headers", () => {
    expect(contentRange(0, 4, 10)).toBe("bytes 0-4/10");
    expect(contentRangeUnsatisfied(10)).toBe("bytes */10");
    expect(() => contentRange(5, 10, 10)).toThrow();
  });

  it("rangeBeforeSize names, before the size is known, the bytes parseRange picks once it is (what a GET prefetches)", () => {
    const n = fc.integer({ min: 0, max: 40 });
    const header = fc.oneof(
      fc.tuple(n, n).map(([a, b]) => `bytes=${a}-${b}`),
      n.map((a) => `bytes=${a}-`),
      n.map((b) => `bytes=-${b}`),
      fc.tuple(n, n).map(([a, b]) => `bytes=${a}-${b},${b}-`),
      fc.constantFrom("bytes=", "bytes=-", "items=0-1", "bytes=x-3", " bytes = 2 - 5 "),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.option(header, { nil: undefined }), fc.integer({ min: 0, max: 50 }), (h, size) => {
        const before = rangeBeforeSize(h);
        const after = parseRange(h, size);
        if (before.kind === "whole") expect(after.kind).toBe("none");
        if (before.kind === "from") {
          if (before.start >= size) expect(after.kind).toBe("unsatisfiable");
          else expect(after).toMatchObject({ kind: "range", start: before.start, endInclusive: Math.min(before.endInclusive, size - 1) });
        }
        // A suffix range needs the size; every other form is known before it.
        if (before.kind === "needs-size") expect(h?.replace(/\s+/g, "")).toMatch(/^bytes=-/);
      }),
      { numRuns: 2000 },
    );
  });
});
