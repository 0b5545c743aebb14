// The operator's log line for a failed request names its cause: a core error value (a quorum failure, with the
// nodes it missed) is written out field by field, never as "[object Object]".
import { describe as suite, expect, it } from "vitest";
import { describe } from "../../runtime/router/app.ts";
import { S3Error } from "../../runtime/s3/errors.ts";

suite("describe (the cause in s3.request-failed)", () => {
  it("writes out a core error value that an S3Error carries as its cause", () => {
    const cause = { kind: "quorum-failed", phase: "put", needed: 2, missed: [{ node: "node-2", why: "put: refused" }] };
    const text = describe(new S3Error("ServiceUnavailable", "Fewer than 2 replicas stored the object", { cause }));
    expect(text).toContain("Fewer than 2 replicas stored the object (cause: ");
    expect(text).toContain('"missed":[{"node":"node-2","why":"put: refused"}]');
    expect(text).not.toContain("[object Object]");
  });

  it("keeps an Error's message chain and bounds a huge value", () => {
    expect(describe(new Error("outer", { cause: new Error("inner") }))).toBe("outer (cause: inner)");
    expect(describe({ blob: "x".repeat(5_000) }).length).toBeLessThanOrEqual(2_001);
  });
});
