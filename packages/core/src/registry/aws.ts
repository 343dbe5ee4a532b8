import type { GitpodDrError } from "../errors.ts";

/**
 * `aws/errors.ts`, loaded only when an AWS call of the image engine fails: its classification imports
 * `@smithy/service-error-classification` and `@smithy/core`, which a copy between non-ECR registries
 * never needs (measured: imported statically, they add 10 packages to the engine's load, 0.14 → 0.38 s).
 */
const awsErrors = () => import("../aws/errors.ts");

/** `wrapAwsError`: the failure of an AWS call as one of our named errors, with what we were doing. */
export async function awsFailure(context: string, error: unknown): Promise<GitpodDrError> {
  return (await awsErrors()).wrapAwsError(context, error);
}

/** `awsErrorCode`: the AWS error code of an SDK error (`RepositoryAlreadyExistsException`), else undefined. */
export async function awsErrorCodeOf(error: unknown): Promise<string | undefined> {
  return (await awsErrors()).awsErrorCode(error);
}
