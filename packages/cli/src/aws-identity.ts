import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { ClientCache } from "@gitpod-dr/core/aws/cache";
import { awsErrorCode } from "@gitpod-dr/core/aws/errors";
import type { Io } from "./command.ts";
import { AwsCredentialsError } from "./errors.ts";

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

const HOW = [
  "Supply AWS credentials in one of these ways:",
  "  - aws configure (or aws sso login --profile NAME), then AWS_PROFILE=NAME",
  "  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)",
  "  - a role of the machine you run on (EC2 instance profile, ECS task role, EKS pod identity)",
].join("\n");

export interface AwsIdentity {
  readonly account: string;
  readonly arn: string;
}

/**
 * Checks the AWS credentials before a command acts (STS GetCallerIdentity in `region`), and says on
 * stderr which account and region it will act in.
 * @throws AwsCredentialsError when there are none or AWS rejects them, with the ways to supply them.
 */
export async function checkAwsCredentials(cache: ClientCache, region: string, io: Io): Promise<AwsIdentity> {
  let identity: { Account?: string | undefined; Arn?: string | undefined };
  try {
    identity = await cache.client(STSClient, region).send(new GetCallerIdentityCommand({}));
  } catch (error) {
    const code = awsErrorCode(error);
    const name = (error as Error).name;
    if (name === "CredentialsProviderError" || (code !== undefined && REJECTED.has(code))) {
      const why =
        name === "CredentialsProviderError"
          ? "no AWS credentials were found"
          : `AWS rejected the credentials (${code})`;
      // The name in brackets, not as "name: message": "…Credentials…: value" reads as a secret to redaction.
      throw new AwsCredentialsError(
        `${why} (checked with STS in ${region}) [AwsCredentialsMissing]. ${HOW}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const account = identity.Account ?? "unknown";
  const arn = identity.Arn ?? "unknown";
  io.err(`AWS account ${account} (${arn}), region ${region}`);
  return { account, arn };
}
