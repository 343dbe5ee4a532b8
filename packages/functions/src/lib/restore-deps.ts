import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { EKSClient } from "@aws-sdk/client-eks";
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { parseRestoreJobConfig, type RestoreJobConfig } from "@gitpod-dr/core/config";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import { connectCluster } from "@gitpod-dr/core/velero/cluster";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { env } from "./env.ts";

function perKey<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}

export interface RestoreDeps {
  readonly config: RestoreJobConfig;
  readonly rds: (region: string) => RDSClient;
  readonly ec2: (region: string) => EC2Client;
  readonly ecr: (region: string) => ECRClient;
  readonly cloudwatch: (region: string) => CloudWatchClient;
  readonly kube: (cluster: string, region: string) => Promise<KubeOps>;
  readonly secrets: (region: string) => SecretsManagerClient;
}

let cached: RestoreDeps | undefined;

/**
 * The restore functions' configuration and clients, built once per cold start (clients per region:
 * a DR restore talks to the DR region). Cluster access is described once per cluster; its token is
 * refreshed by the access itself.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function restoreDeps(): RestoreDeps {
  if (cached) return cached;
  const config = parseRestoreJobConfig(env.config);
  const eks = perKey((region) => new EKSClient(awsClientConfig(region)));
  const clusters = new Map<string, Promise<KubeOps>>();
  cached = {
    config,
    rds: perKey((region) => new RDSClient(awsClientConfig(region))),
    ec2: perKey((region) => new EC2Client(awsClientConfig(region))),
    ecr: perKey((region) => new ECRClient(awsClientConfig(region))),
    cloudwatch: perKey((region) => new CloudWatchClient(awsClientConfig(region))),
    secrets: perKey((region) => new SecretsManagerClient(awsClientConfig(region))),
    kube: (cluster, region) => {
      const key = `${region}/${cluster}`;
      let access = clusters.get(key);
      if (!access) {
        const client = eks(region);
        access = connectCluster(cluster, region, {
          eks: client,
          credentials: () => client.config.credentials(),
        });
        // A failed connection is not cached: the next attempt describes the cluster again.
        access.catch(() => clusters.delete(key));
        clusters.set(key, access);
      }
      return access;
    },
  };
  return cached;
}

/** Registry transports for one invocation (fresh token caches; keep-alive connections are shared). */
export function registryTransports(deps: RestoreDeps) {
  return transportPool({
    credentials: credentialsFor({
      ecr: deps.ecr,
      secrets: deps.secrets,
      secretArns: deps.config.registrySecrets,
    }),
  });
}
