import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import { perKey } from "./per-key.ts";
import { restoreConfig } from "./restore-deps.ts";

const ecrClient = perKey((region) => new ECRClient(awsClientConfig(region)));
const secretsClient = perKey((region) => new SecretsManagerClient(awsClientConfig(region)));

/** Registry transports for one invocation (fresh token caches; keep-alive connections are shared). */
export function registryTransports() {
  return transportPool({
    credentials: credentialsFor({
      ecr: ecrClient,
      secrets: secretsClient,
      secretArns: restoreConfig().registrySecrets,
    }),
    insecure: restoreConfig().restore.images?.insecureRegistries ?? [],
  });
}
