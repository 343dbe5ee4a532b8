import { DescribeDBClustersCommand, DescribeDBInstancesCommand, type RDSClient } from "@aws-sdk/client-rds";
import { awsErrorCode } from "../aws/errors.ts";
import type { KubeOps } from "../velero/kube.ts";
import { phaseReport } from "../velero/status.ts";
import { TAG_RESTORE_ID, writerIdentifier } from "./database.ts";
import type { RestorePlan, RestoreRequest } from "./types.ts";

/**
 * What a failed restore had already created, looked up rather than remembered (a failed Parallel
 * branch loses its outputs): the restored database and the Velero Restore of this restore id. A look-up
 * that fails is reported as unknown, never hidden.
 */

export interface InventoryDeps {
  readonly rds: (region: string) => RDSClient;
  readonly kube: (cluster: string, region: string) => Promise<KubeOps>;
}

async function describeTags(rds: RDSClient, kind: "instance" | "cluster", id: string) {
  try {
    if (kind === "instance") {
      const db = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })))
        .DBInstances?.[0];
      return db && { status: db.DBInstanceStatus ?? "unknown", tags: db.TagList ?? [] };
    }
    const db = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
    return db && { status: db.Status ?? "unknown", tags: db.TagList ?? [] };
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "DBInstanceNotFoundFault" || code === "DBClusterNotFoundFault") return undefined;
    throw error;
  }
}

export async function restoreInventory(
  request: RestoreRequest | undefined,
  plan: RestorePlan | undefined,
  deps: InventoryDeps,
): Promise<string[]> {
  const found: string[] = [];
  if (!request) return found;
  const db = plan?.database ?? request.database;
  if (db) {
    const rds = deps.rds(request.region);
    const targets: ["instance" | "cluster", string][] =
      db.kind === "cluster"
        ? [
            ["cluster", db.identifier],
            ["instance", writerIdentifier(db.identifier)],
          ]
        : [["instance", db.identifier]];
    for (const [kind, id] of targets) {
      try {
        const d = await describeTags(rds, kind, id);
        if (d?.tags.some((t) => t.Key === TAG_RESTORE_ID && t.Value === request.restoreId.slice(0, 256))) {
          found.push(
            `${kind === "cluster" ? "DB cluster" : "DB instance"} ${id} in ${request.region} (${d.status}, deletion protection on)`,
          );
        }
      } catch (error) {
        found.push(
          `unknown whether ${kind === "cluster" ? "DB cluster" : "DB instance"} ${id} exists: ${(error as Error).message}`,
        );
      }
    }
  }
  const app = plan?.application;
  if (app) {
    try {
      const kube = await deps.kube(app.cluster, request.region);
      const restore = await kube.getVelero("restores", app.veleroNamespace, app.restoreName);
      if (restore) {
        found.push(
          `Velero Restore ${app.veleroNamespace}/${app.restoreName} (${phaseReport(restore).phase}) in cluster ${app.cluster}, with its resource modifier ConfigMap ${app.veleroNamespace}/${app.modifierName}; restored workloads stay held (their pods gated, Jobs and CronJobs suspended) until a restore completes; to give up instead, remove the gate gitpod-dr/held from their pod templates`,
        );
      }
    } catch (error) {
      found.push(`unknown whether Velero Restore ${app.restoreName} exists: ${(error as Error).message}`);
    }
  }
  return found;
}
