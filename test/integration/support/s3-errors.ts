// The S3 error an SDK call failed with, as { code, status }: for asserting on refusals.
import { S3ServiceException } from "@aws-sdk/client-s3";

export async function s3ErrorOf(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return { code: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error("expected an S3 error, got success");
}
