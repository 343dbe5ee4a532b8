import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { ClientCache } from "@gitpod-dr/core/aws/cache";
import { awsErrorCode } from "@gitpod-dr/core/aws/errors";
import { GitpodDrError } from "@gitpod-dr/core/errors";

/**
 * No usable AWS credentials, or credentials AWS rejects: found before the command acted (exit 2).
 * (The CLI's credentials pre-check names the same error; one of the two goes at merge.)
 */
export class AwsCredentialsError extends GitpodDrError {
  override readonly name = "AwsCredentialsMissing";
}

export const CREDENTIAL_WAYS = [
  "Supply AWS credentials in one of these ways:",
  "  - aws configure (or aws sso login --profile NAME), then AWS_PROFILE=NAME before the command",
  "  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)",
  "  - a role of the machine you run on (EC2 instance profile, ECS task role)",
].join("\n");

/** STS answers that mean the credentials themselves are bad, not the call. */
const REJECTED = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "ExpiredToken",
  "ExpiredTokenException",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
]);

export interface AwsCaller {
  readonly account: string;
  readonly arn: string;
  /** The partition of the caller's ARN (aws, aws-cn, aws-us-gov): ARNs the command builds use it. */
  readonly partition: string;
}

/**
 * Who the credentials are (STS GetCallerIdentity in `region`; two quick attempts, a person waits).
 * @throws AwsCredentialsError when there are none, AWS rejects them, or STS cannot be reached, with the
 * ways to supply them.
 */
export async function awsCaller(clients: ClientCache, region: string): Promise<AwsCaller> {
  try {
    const id = await clients
      .client(STSClient, region, { retry: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 1_000 } })
      .send(new GetCallerIdentityCommand({}));
    const arn = id.Arn ?? "";
    return { account: id.Account ?? "", arn, partition: arn.split(":")[1] || "aws" };
  } catch (error) {
    const code = awsErrorCode(error);
    const name = (error as Error).name;
    const why =
      name === "CredentialsProviderError"
        ? "no AWS credentials were found"
        : code && REJECTED.has(code)
          ? `AWS rejected the credentials (${code})`
          : `STS in ${region} could not be asked who the credentials belong to (${code ?? name}: ${(error as Error).message})`;
    throw new AwsCredentialsError(`${why}. ${CREDENTIAL_WAYS}`, { cause: error });
  }
}
