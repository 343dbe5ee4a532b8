import { EKSClient } from "@aws-sdk/client-eks";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { connectCluster } from "@gitpod-dr/core/velero/cluster";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { perKey } from "./per-key.ts";

const eksClient = perKey((region) => new EKSClient(awsClientConfig(region)));

/** Access per `region/cluster`: described once (a failed attempt is forgotten); the token refreshes itself. */
const access = perKey((key): Promise<KubeOps> => {
  const [region, cluster] = key.split("/") as [string, string];
  const client = eksClient(region);
  const connected = connectCluster(cluster, region, {
    eks: client,
    credentials: () => client.config.credentials(),
  });
  connected.catch(() => access.forget(key));
  return connected;
});

export function clusterAccess(cluster: string, region: string): Promise<KubeOps> {
  return access(`${region}/${cluster}`);
}
