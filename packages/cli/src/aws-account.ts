import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { ClientCache } from "@gitpod-dr/core/aws/cache";
import { awsErrorCode } from "@gitpod-dr/core/aws/errors";
import type { Io } from "./command.ts";
import { AwsCredentialsError } from "./errors.ts";

export const CREDENTIAL_WAYS = [
  "Supply AWS credentials in one of these ways:",
  "  - aws configure (or aws sso login --profile NAME), then AWS_PROFILE=NAME before the command",
  "  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)",
  "  - a role of the machine you run on (EC2 instance profile, ECS task role, EKS pod identity)",
].join("\n");

/** Codes of STS answers that mean the credentials themselves are bad, not the call. */
const REJECTED = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "ExpiredToken",
  "ExpiredTokenException",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "AccessDenied",
]);

export interface AwsCaller {
  readonly account: string;
  readonly arn: string;
  /** The partition of the caller's ARN (aws, aws-cn, aws-us-gov): ARNs the command builds use it. */
  readonly partition: string;
}

/**
 * Who the credentials are (STS GetCallerIdentity in `region`; two quick attempts, a person waits).
 * @throws AwsCredentialsError when there are none or AWS rejects them, with the ways to supply them;
 * any other failure (STS unreachable) as it came.
 */
export async function awsCaller(clients: ClientCache, region: string): Promise<AwsCaller> {
  try {
    const id = await clients
      .client(STSClient, region, { retry: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 1_000 } })
      .send(new GetCallerIdentityCommand({}));
    const arn = id.Arn ?? "unknown";
    return { account: id.Account ?? "unknown", arn, partition: arn.split(":")[1] || "aws" };
  } catch (error) {
    const code = awsErrorCode(error);
    const missing = (error as Error).name === "CredentialsProviderError";
    if (!missing && (code === undefined || !REJECTED.has(code))) throw error;
    const why = missing ? "no AWS credentials were found" : `AWS rejected the credentials (${code})`;
    // The name in brackets, not as "name: message": "…Credentials…: value" reads as a secret to redaction.
    throw new AwsCredentialsError(
      `${why} (checked with STS in ${region}) [AwsCredentialsMissing]. ${CREDENTIAL_WAYS}`,
      { cause: error },
    );
  }
}

/**
 * Checks the AWS credentials before a command acts, and says on stderr which account and region it
 * will act in.
 * @throws AwsCredentialsError as {@link awsCaller}.
 */
export async function checkAwsCredentials(cache: ClientCache, region: string, io: Io): Promise<AwsCaller> {
  const caller = await awsCaller(cache, region);
  io.err(`AWS account ${caller.account} (${caller.arn}), region ${region}`);
  return caller;
}
