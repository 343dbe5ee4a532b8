import { clusterAccess as access } from "@gitpod-dr/core/velero/clients";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { clients } from "./cache.ts";

/** Access per cluster and region: described once (a failed attempt is tried again); the token refreshes itself. */
export function clusterAccess(cluster: string, region: string): Promise<KubeOps> {
  return access(clients, cluster, region);
}
