import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import { cachedPer, restoreConfig } from "./restore-deps.ts";

let ecr: Map<string, ECRClient> | undefined;
let secrets: Map<string, SecretsManagerClient> | undefined;
/** Registry transports for one invocation (fresh token caches; keep-alive connections are shared). */
export function registryTransports() {
  ecr ??= new Map();
  secrets ??= new Map();
  const ecrClients = ecr;
  const secretClients = secrets;
  return transportPool({
    credentials: credentialsFor({
      ecr: (region) => cachedPer(ecrClients, region, () => new ECRClient(awsClientConfig(region))),
      secrets: (region) =>
        cachedPer(secretClients, region, () => new SecretsManagerClient(awsClientConfig(region))),
      secretArns: restoreConfig().registrySecrets,
    }),
    insecure: restoreConfig().restore.images?.insecureRegistries ?? [],
  });
}
