import { EKSClient } from "@aws-sdk/client-eks";
import type { ClientCache } from "../aws/cache.ts";
import { connectCluster } from "./cluster.ts";
import type { KubeOps } from "./kube.ts";

/**
 * Access to an EKS cluster (the Velero job's, the restore's and the CLI's), from the cache: the cluster
 * is described once per cache (a failed attempt is tried again next time); the token refreshes itself.
 */
export function clusterAccess(cache: ClientCache, cluster: string, region: string): Promise<KubeOps> {
  return cache.value(`eks-cluster ${region}/${cluster}`, () => {
    const eks = cache.client(EKSClient, region);
    return connectCluster(cluster, region, { eks, credentials: () => eks.config.credentials() });
  });
}
