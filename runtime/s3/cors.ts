// Which CORS rule of a bucket answers a browser's request, and the headers that answer carries (S3's rules).
// Guarantees: a preflight matches the first rule whose origins, methods and headers all allow the request;
// an actual request the first rule whose origins and methods allow it; origins and headers match with at
// most one `*` wildcard each, headers case-insensitively; no rule, no CORS headers (the browser refuses).
import type { CorsRule } from "./xml.ts";

/** `pattern` with at most one `*`, matched against the whole of `value`. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

const allowsOrigin = (rule: CorsRule, origin: string) => rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, origin));
const allowsHeader = (rule: CorsRule, header: string) => rule.allowedHeaders.some((pattern) => wildcardMatch(pattern.toLowerCase(), header.toLowerCase()));

export interface CorsRequest {
  readonly origin: string;
  readonly method: string;
  /** Preflight only: the Access-Control-Request-Headers, split. */
  readonly requestHeaders?: readonly string[];
}

export function matchCorsRule(rules: readonly CorsRule[], request: CorsRequest): CorsRule | undefined {
  return rules.find(
    (rule) =>
      allowsOrigin(rule, request.origin) &&
      rule.allowedMethods.includes(request.method) &&
      (request.requestHeaders ?? []).every((header) => allowsHeader(rule, header)),
  );
}

/** The response headers for a request `rule` allows. */
export function corsHeaders(rule: CorsRule, request: CorsRequest, preflight: boolean): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes("*");
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": anyOrigin ? "*" : request.origin,
    "Access-Control-Allow-Methods": rule.allowedMethods.join(", "),
    Vary: "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
  };
  if (!anyOrigin) headers["Access-Control-Allow-Credentials"] = "true";
  if (rule.exposeHeaders.length > 0) headers["Access-Control-Expose-Headers"] = rule.exposeHeaders.join(", ");
  if (rule.maxAgeSeconds !== undefined) headers["Access-Control-Max-Age"] = String(rule.maxAgeSeconds);
  if (preflight && request.requestHeaders && request.requestHeaders.length > 0) headers["Access-Control-Allow-Headers"] = request.requestHeaders.join(", ");
  return headers;
}

/** Access-Control-Request-Headers as a list of names. */
export function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(",").map((h) => h.trim()).filter((h) => h !== "");
}
