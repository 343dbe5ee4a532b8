import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { type ImageJobConfig, parseImageJobConfig } from "@gitpod-dr/core/config";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import type { SyncDeps } from "@gitpod-dr/core/registry/sync";
import { env } from "./env.ts";
import { perKey } from "./per-key.ts";

let cached:
  | {
      config: ImageJobConfig;
      ecr: (region: string) => ECRClient;
      secrets: (region: string) => SecretsManagerClient;
    }
  | undefined;

/**
 * The image job's configuration and clients: parsed and built once per cold start. Registry transports
 * are made per invocation (a fresh token cache each run); their keep-alive connections are shared.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function imageJob(): { config: ImageJobConfig; deps: SyncDeps } {
  if (!cached) {
    cached = {
      config: parseImageJobConfig(env.config),
      ecr: perKey((region) => new ECRClient(awsClientConfig(region))),
      secrets: perKey((region) => new SecretsManagerClient(awsClientConfig(region))),
    };
  }
  const { config, ecr, secrets } = cached;
  const secretArns = Object.fromEntries(
    Object.entries(config.images.registries).map(([host, r]) => [host, r.credentialsSecretArn]),
  );
  return {
    config,
    deps: { ecr, transportFor: transportPool({ credentials: credentialsFor({ ecr, secrets, secretArns }) }) },
  };
}
