// Who may read a router's operator pages (/-/metrics, /-/status, /-/status.json): whoever holds the token in
// the data folder's metrics-token file. Three ways to present it:
//   - `Authorization: Bearer <token>`: Prometheus, curl, scripts (MinIO's metrics endpoint works this way);
//   - `?token=<token>` on GET /-/status: a link a person opens once in a browser. The router answers with a
//     cookie holding the token and a redirect to /-/status, so the token leaves the address bar, the history
//     and any Referer at once (Jupyter's `?token=` login does the same);
//   - the cookie `ringstore_operator`: the browser sends it with the page's own refreshes. HttpOnly (page
//     scripts cannot read it), SameSite=Strict (no other site's page can make the browser send it), Path=/-/
//     (S3 requests never carry it), 12 hours.
// Guarantees: tokens are compared in constant time; a wrong or missing token is AccessDenied, whatever the way.
import { timingSafeEqual } from "node:crypto";
import type Koa from "koa";

export const OPERATOR_COOKIE = "ringstore_operator";
const COOKIE_MAX_AGE_MS = 12 * 60 * 60_000;

export function sameToken(given: string, wanted: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return wanted.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

/** The token presented by header or cookie (not the query: only the page's entry point takes that). */
export function presentedToken(ctx: Koa.Context): string {
  const header = ctx.get("authorization");
  if (/^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, "");
  return ctx.cookies.get(OPERATOR_COOKIE) ?? "";
}

/** Sets the cookie and redirects to `path` without the query: the way in from a `?token=` link. */
export function enterWithToken(ctx: Koa.Context, path: string, token: string): void {
  ctx.cookies.set(OPERATOR_COOKIE, token, { httpOnly: true, sameSite: "strict", path: "/-/", maxAge: COOKIE_MAX_AGE_MS, overwrite: true });
  ctx.set("Referrer-Policy", "no-referrer");
  ctx.set("Cache-Control", "no-store");
  ctx.status = 303;
  ctx.redirect(path);
}
