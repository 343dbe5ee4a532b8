import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ClientCache } from "../aws/cache.ts";
import type { ImageJobConfig } from "../config/images.ts";
import { type CredentialSources, credentialsFor, transportPool } from "./registries.ts";
import type { SyncDeps } from "./sync.ts";

export interface RegistryAccess {
  /** Registry host → Secrets Manager secret ARN of its credentials. */
  readonly secretArns?: Readonly<Record<string, string>>;
  /** Registry host → provider given directly (the CLI's docker config). Wins over secrets. */
  readonly providers?: CredentialSources["providers"];
  /** Hosts spoken to over plain HTTP (local registries only). */
  readonly insecure?: readonly string[];
}

/** ECR clients by region, from the cache. */
export function ecrClients(cache: ClientCache): (region: string) => ECRClient {
  return (region) => cache.client(ECRClient, region);
}

/**
 * Registry transports for one run (fresh token caches; the clients and keep-alive connections are
 * shared): ECR through the caller's AWS credentials, other registries through `access`.
 */
export function registryTransports(
  cache: ClientCache,
  access: RegistryAccess = {},
): ReturnType<typeof transportPool> {
  return transportPool({
    credentials: credentialsFor({
      ecr: ecrClients(cache),
      secrets: (region) => cache.client(SecretsManagerClient, region),
      ...(access.secretArns ? { secretArns: access.secretArns } : {}),
      ...(access.providers ? { providers: access.providers } : {}),
    }),
    ...(access.insecure ? { insecure: access.insecure } : {}),
  });
}

/** The image sync job's clients and transports (the Lambda's and the CLI's), from the cache. */
export function imageSyncDeps(
  config: ImageJobConfig,
  cache: ClientCache,
  access: Omit<RegistryAccess, "secretArns"> = {},
): SyncDeps {
  const secretArns = Object.fromEntries(
    Object.entries(config.images.registries).map(([host, r]) => [host, r.credentialsSecretArn]),
  );
  return { ecr: ecrClients(cache), transportFor: registryTransports(cache, { ...access, secretArns }) };
}
