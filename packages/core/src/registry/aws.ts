import type { GitpodDrError } from "../errors.ts";

/**
 * `wrapAwsError`, loaded when an AWS call of the image engine fails. Its classification pulls in
 * the SDK's shared modules, which a copy between non-ECR registries (and the CLI's start-up) never
 * needs to load.
 */
export async function awsFailure(context: string, error: unknown): Promise<GitpodDrError> {
  const { wrapAwsError } = await import("../aws/errors.ts");
  return wrapAwsError(context, error);
}
