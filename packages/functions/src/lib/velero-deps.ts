import { EKSClient } from "@aws-sdk/client-eks";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { parseVeleroJobConfig, type VeleroJobConfig } from "@gitpod-dr/core/config";
import { connectCluster } from "@gitpod-dr/core/velero/cluster";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { env } from "./env.ts";

let cached: { config: VeleroJobConfig; eks: EKSClient; kube?: KubeOps } | undefined;

/**
 * The Velero job's configuration, EKS client and cluster access, built once per cold start. The
 * cluster's endpoint and CA are described once; the token is refreshed by the access itself.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export async function veleroJob(): Promise<{ config: VeleroJobConfig; kube: KubeOps }> {
  if (!cached) {
    const config = parseVeleroJobConfig(env.config);
    cached = { config, eks: new EKSClient(awsClientConfig(config.region)) };
  }
  if (!cached.kube) {
    const eks = cached.eks;
    cached.kube = await connectCluster(cached.config.application.cluster.name, cached.config.region, {
      eks,
      credentials: () => eks.config.credentials(),
    });
  }
  return { config: cached.config, kube: cached.kube };
}
