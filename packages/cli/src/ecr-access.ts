import { ECRClient } from "@aws-sdk/client-ecr";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { checkAwsCredentials } from "./aws-account.ts";
import type { Io } from "./command.ts";

/**
 * ECR clients for a copy that involves ECR, after checking the AWS credentials in `region`.
 * @throws AwsCredentialsError when there are no usable credentials.
 */
export async function ecrAccess(region: string, io: Io): Promise<(region: string) => ECRClient> {
  const cache = new ClientCache();
  await checkAwsCredentials(cache, region, io);
  return (r) => cache.client(ECRClient, r);
}
