// S3 errors: the codes AWS uses, their HTTP status, and the XML body AWS sends with them.
// Guarantees: every S3Error carries a code from the table below, so its status is always known;
// renderErrorXml produces the exact shape AWS produces (Code, Message, extra fields, Resource, RequestId)
// with every text value XML-escaped.
// Assumes: callers turn any failure a client can cause into an S3Error; anything else is InternalError.

import { escapeXmlText } from "./xml-escape.ts";

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AccessForbidden: { status: 403, message: "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec." },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  AuthorizationQueryParametersError: { status: 400, message: "Error parsing the X-Amz-Credential parameter." },
  BadDigest: { status: 400, message: "The Content-MD5 or checksum value that you specified did not match what the server received." },
  BucketAlreadyExists: { status: 409, message: "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again." },
  BucketAlreadyOwnedByYou: { status: 409, message: "Your previous request to create the named bucket succeeded and you already own it." },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty" },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed object size." },
  EntityTooSmall: { status: 400, message: "Your proposed upload is smaller than the minimum allowed object size." },
  IncompleteBody: { status: 400, message: "You did not provide the number of bytes specified by the Content-Length HTTP header." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: { status: 403, message: "The AWS Access Key Id you provided does not exist in our records." },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidDigest: { status: 400, message: "The Content-MD5 you specified is not valid." },
  InvalidPart: { status: 400, message: "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag." },
  InvalidPartOrder: { status: 400, message: "The list of parts was not in ascending order. The parts list must be specified in order by part number." },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable" },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidTag: { status: 400, message: "The tag provided was not a valid tag." },
  InvalidStorageClass: { status: 400, message: "The storage class you specified is not valid" },
  KeyTooLongError: { status: 400, message: "Your key is too long" },
  MalformedXML: { status: 400, message: "The XML you provided was not well-formed or did not validate against our published schema." },
  MaxMessageLengthExceeded: { status: 400, message: "Your request was too big." },
  MetadataTooLarge: { status: 400, message: "Your metadata headers exceed the maximum allowed metadata size." },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  MissingContentLength: { status: 411, message: "You must provide the Content-Length HTTP header." },
  MissingSecurityHeader: { status: 400, message: "Your request is missing a required header." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist" },
  NoSuchCORSConfiguration: { status: 404, message: "The CORS configuration does not exist" },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchLifecycleConfiguration: { status: 404, message: "The lifecycle configuration does not exist" },
  NoSuchUpload: { status: 404, message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed." },
  NotImplemented: { status: 501, message: "A header you provided implies functionality that is not implemented." },
  OperationAborted: { status: 409, message: "A conflicting conditional operation is currently in progress against this resource. Try again." },
  PreconditionFailed: { status: 412, message: "At least one of the pre-conditions you specified did not hold" },
  RequestTimeTooSkewed: { status: 403, message: "The difference between the request time and the current time is too large." },
  ServiceUnavailable: { status: 503, message: "Please reduce your request rate." },
  SignatureDoesNotMatch: { status: 403, message: "The request signature we calculated does not match the signature you provided. Check your key and signing method." },
  SlowDown: { status: 503, message: "Please reduce your request rate." },
  TooManyBuckets: { status: 400, message: "You have attempted to create more buckets than allowed" },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
} as const satisfies Record<string, { status: number; message: string }>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** Extra child elements AWS adds for some codes (e.g. RequestTime/ServerTime, Region, Key, BucketName). */
export type S3ErrorExtra = Readonly<Record<string, string>>;

export class S3Error extends Error {
  override name = "S3Error";
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly resource: string | undefined;
  readonly extra: S3ErrorExtra;

  constructor(code: S3ErrorCode, message?: string, options: { resource?: string; extra?: S3ErrorExtra; cause?: unknown } = {}) {
    super(message ?? S3_ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = S3_ERRORS[code].status;
    this.resource = options.resource;
    this.extra = options.extra ?? {};
  }

  /** A copy naming the resource (the request path), as AWS reports it. */
  withResource(resource: string): S3Error {
    return new S3Error(this.code, this.message, { resource, extra: this.extra, cause: this.cause });
  }
}

export function isS3Error(value: unknown): value is S3Error {
  return value instanceof S3Error;
}

/** Any thrown value as an S3Error: S3Errors pass through, everything else is an InternalError. */
export function toS3Error(value: unknown): S3Error {
  if (value instanceof S3Error) return value;
  return new S3Error("InternalError", undefined, { cause: value });
}

const EXTRA_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** The XML body AWS sends with an error (for a HEAD request send no body, only the status). */
export function renderErrorXml(error: S3Error, requestId: string): string {
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>';
  xml += `<Code>${error.code}</Code>`;
  xml += `<Message>${escapeXmlText(error.message)}</Message>`;
  for (const [name, value] of Object.entries(error.extra)) {
    // Element names come from our own code, never from a client; a bad one is a programming error.
    if (!EXTRA_NAME.test(name)) throw new Error(`invalid S3Error extra field name ${JSON.stringify(name)}`);
    xml += `<${name}>${escapeXmlText(value)}</${name}>`;
  }
  if (error.resource !== undefined) xml += `<Resource>${escapeXmlText(error.resource)}</Resource>`;
  xml += `<RequestId>${escapeXmlText(requestId)}</RequestId>`;
  xml += "</Error>";
  return xml;
}
