import { EKSClient } from "@aws-sdk/client-eks";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { connectCluster } from "@gitpod-dr/core/velero/cluster";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { cachedPer } from "./restore-deps.ts";

let clusters: Map<string, Promise<KubeOps>> | undefined;
let eks: Map<string, EKSClient> | undefined;
/** Access to a cluster: described once (a failed attempt is not kept); the token refreshes itself. */
export function clusterAccess(cluster: string, region: string): Promise<KubeOps> {
  clusters ??= new Map();
  eks ??= new Map();
  const eksClients = eks;
  const key = `${region}/${cluster}`;
  const cache = clusters;
  return cachedPer(cache, key, () => {
    const client = cachedPer(eksClients, region, () => new EKSClient(awsClientConfig(region)));
    const access = connectCluster(cluster, region, {
      eks: client,
      credentials: () => client.config.credentials(),
    });
    access.catch(() => cache.delete(key));
    return access;
  });
}
