import { GitpodDrError } from "@gitpod-dr/core/errors";

/**
 * The CLI's own named errors (exit 2: nothing was done). Their `name`s are an API, listed in the
 * README's error names.
 */

/** No usable AWS credentials, or credentials that AWS rejects: checked before a command acts. */
export class AwsCredentialsError extends GitpodDrError {
  override readonly name = "AwsCredentialsMissing";
}
