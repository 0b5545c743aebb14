// Presigned URLs in AWS Signature Version 2 query form (`AWSAccessKeyId`, `Expires`, `Signature`): what
// aws cli v1 `s3 presign` and boto3's default `generate_presigned_url` produce.
// Guarantees: verifySigV2Query returns ok only when the signature is the HMAC-SHA1, under the secret of a
// known access key, of the string SigV2 signs (method, Content-MD5, Content-Type, Expires, every x-amz-*
// header, the resource with its sub-resources), compared in constant time, and the URL has not expired.
// Only GET, HEAD and PUT are accepted, as for the URLs those tools hand to browsers and curl. A SigV2
// Authorization header is not accepted here: it keeps its clear 400 in sigv4.ts.
// Assumes: path-style addressing (the resource is the raw path as received).
import { createHmac, timingSafeEqual } from "node:crypto";
import { S3Error } from "./errors.ts";
import { type RequestHeaders, type SigV4Auth, type SigV4Request, UNSIGNED_PAYLOAD } from "./sigv4.ts";

const METHODS = new Set(["GET", "HEAD", "PUT"]);

/** Query parameters SigV2 signs as part of the resource (the sub-resources and the response overrides). */
const SIGNED_SUBRESOURCES = new Set([
  "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
  "requestPayment", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
  "versions", "website", "response-cache-control", "response-content-disposition", "response-content-encoding",
  "response-content-language", "response-content-type", "response-expires",
]);

export function hasSigV2Query(rawQuery: string): boolean {
  return /(^|&)AWSAccessKeyId=/.test(rawQuery) && /(^|&)Signature=/.test(rawQuery);
}

function headerText(value: RequestHeaders[string]): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : value.join(",");
}

function queryParameters(rawQuery: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
    try {
      out.push(equals < 0 ? [decode(part), ""] : [decode(part.slice(0, equals)), decode(part.slice(equals + 1))]);
    } catch {
      throw new S3Error("InvalidArgument", "Couldn't parse the specified URI.");
    }
  }
  return out;
}

export function sigV2StringToSign(request: SigV4Request, expires: string, parameters: readonly [string, string][]): string {
  const amzHeaders = Object.entries(request.headers)
    .filter(([name]) => name.startsWith("x-amz-"))
    .map(([name, value]) => `${name}:${headerText(value).trim()}`)
    .sort();
  const subresources = parameters
    .filter(([name]) => SIGNED_SUBRESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === "" ? name : `${name}=${value}`));
  const resource = request.rawPath + (subresources.length > 0 ? `?${subresources.join("&")}` : "");
  return [request.method, headerText(request.headers["content-md5"]), headerText(request.headers["content-type"]), expires, ...amzHeaders, resource].join("\n");
}

export async function verifySigV2Query(request: SigV4Request, options: { lookupSecret: (accessKey: string) => string | undefined | Promise<string | undefined>; nowMs: number }): Promise<SigV4Auth> {
  const parameters = queryParameters(request.rawQuery);
  const get = (name: string) => parameters.find(([n]) => n === name)?.[1];
  const accessKey = get("AWSAccessKeyId") ?? "";
  const signature = get("Signature") ?? "";
  const expires = get("Expires");
  if (expires === undefined || !/^\d{1,12}$/.test(expires)) throw new S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
  if (!METHODS.has(request.method)) throw new S3Error("AccessDenied", `Query-string authentication version 2 is accepted for GET, HEAD and PUT only, not ${request.method}.`);
  if (options.nowMs > Number(expires) * 1000) {
    throw new S3Error("AccessDenied", "Request has expired", { extra: { Expires: new Date(Number(expires) * 1000).toISOString(), ServerTime: new Date(options.nowMs).toISOString() } });
  }
  const secret = await options.lookupSecret(accessKey);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId", undefined, { extra: { AWSAccessKeyId: accessKey } });
  const toSign = sigV2StringToSign(request, expires, parameters.filter(([n]) => n !== "Signature" && n !== "AWSAccessKeyId" && n !== "Expires"));
  const expected = createHmac("sha1", secret).update(toSign, "utf8").digest();
  const provided = Buffer.from(signature, "base64");
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new S3Error("SignatureDoesNotMatch", undefined, { extra: { AWSAccessKeyId: accessKey, StringToSign: toSign } });
  }
  // The body of a SigV2 presigned PUT is not signed: it is checked like UNSIGNED-PAYLOAD (Content-MD5 if sent).
  return {
    accessKey,
    signingKey: Buffer.alloc(0),
    scope: "",
    region: "us-east-1",
    amzDate: "",
    signature: expected.toString("hex"),
    payloadHash: UNSIGNED_PAYLOAD,
    presigned: true,
    signedHeaders: Object.keys(request.headers).filter((name) => name.startsWith("x-amz-")),
  };
}
