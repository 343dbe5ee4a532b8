import type { ECRClient } from "@aws-sdk/client-ecr";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type CredentialProvider, ecrCredentials, secretCredentials } from "./auth.ts";
import type { TransportFor } from "./copy.ts";
import type { HttpAgents } from "./http.ts";
import { ecrRegistry, parseRegistryHost } from "./reference.ts";
import type { RetryPolicy } from "./retry.ts";
import { RegistryTransport } from "./transport.ts";

/** Picks each registry's credential source: ECR by its host, others from Secrets Manager or given ones. */
export interface CredentialSources {
  /** An ECR client in a region (ECR tokens are regional). */
  readonly ecr?: (region: string) => Pick<ECRClient, "send">;
  /** A Secrets Manager client in a region (the secret's own). */
  readonly secrets?: (region: string) => Pick<SecretsManagerClient, "send">;
  /** Registry host → secret ARN. */
  readonly secretArns?: Readonly<Record<string, string>>;
  /** Registry host → provider given directly (CLI `--creds`, docker config). Wins over the others. */
  readonly providers?: Readonly<Record<string, CredentialProvider>>;
}

export function credentialsFor(
  sources: CredentialSources,
): (registry: string) => CredentialProvider | undefined {
  const secretArns = new Map(
    Object.entries(sources.secretArns ?? {}).map(([host, arn]) => [parseRegistryHost(host), arn]),
  );
  const providers = new Map(
    Object.entries(sources.providers ?? {}).map(([host, p]) => [parseRegistryHost(host), p]),
  );
  return (registry) => {
    const ecr = ecrRegistry(registry);
    // For ECR, a fresh token from GetAuthorizationToken beats a 12-hour one left in a docker config.
    if (ecr && sources.ecr) return ecrCredentials(sources.ecr(ecr.region), registry);
    const given = providers.get(registry);
    if (given) return given;
    const arn = secretArns.get(registry);
    if (arn && sources.secrets) {
      const region = arn.split(":")[3] as string;
      return secretCredentials(sources.secrets(region), arn, registry);
    }
    return undefined;
  };
}

/** One transport per registry host for a run, so tokens and connections are shared by every copy. */
export function transportPool(options: {
  readonly credentials: (registry: string) => CredentialProvider | undefined;
  /** Hosts spoken to over plain HTTP (local registries only; the CLI's `--insecure-registry`). */
  readonly insecure?: readonly string[];
  readonly agents?: HttpAgents;
  readonly retry?: RetryPolicy;
  readonly userAgent?: string;
}): TransportFor {
  const pool = new Map<string, RegistryTransport>();
  const insecure = new Set(options.insecure ?? []);
  return (registry) => {
    let transport = pool.get(registry);
    if (!transport) {
      const credentials = options.credentials(registry);
      transport = new RegistryTransport({
        registry,
        insecure: insecure.has(registry),
        ...(credentials ? { credentials } : {}),
        agents: options.agents,
        ...(options.retry ? { retry: options.retry } : {}),
        userAgent: options.userAgent ?? "gitpod-dr",
      });
      pool.set(registry, transport);
    }
    return transport;
  };
}
