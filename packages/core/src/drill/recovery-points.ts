import type { RDSClient } from "@aws-sdk/client-rds";
import { GetParameterCommand, PutParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import type { RestoreJobConfig } from "../config/restore.ts";
import { snapshotApi } from "../rds/api.ts";
import type { DatabaseKind, Snapshot } from "../rds/types.ts";
import { recoveryTime, resolveRestoreSnapshot } from "../restore/database.ts";
import { RestoreSnapshotNotFoundError } from "../restore/errors.ts";
import type { KubeOps } from "../velero/kube.ts";
import { resolveBackup } from "../velero/restore.ts";
import type { DrillRecoveryPoint, DrillRecoveryPoints, DrillResult } from "./types.ts";

/**
 * Today's recovery-point selection for the drill — the restore's `latest`: the newest available
 * snapshot gitpod-dr made in the target region (by its recorded recovery time), the newest Completed
 * Velero backup, the configured images, and every checked bucket with the database's recovery time as
 * the watermark (an object older than the data the database holds must be in the replica). The result
 * of the last drill is kept in one SSM parameter. The recovery-point catalog (issue 12) replaces this
 * implementation of `DrillRecoveryPoints` and records results beside the recovery point.
 */

export interface LatestRecoveryPointsDeps {
  /** RDS in the drill's target region. */
  readonly rds: Pick<RDSClient, "send" | "config">;
  /** The target cluster (undefined: no application tier). */
  readonly kube: () => Promise<KubeOps | undefined>;
  readonly ssm: Pick<SSMClient, "send">;
  /** The SSM parameter the last result is kept in, `/gitpod-dr/<stage>/drill/last-result`. */
  readonly parameterName: string;
  /** The target registry host (images are checked there). */
  readonly registry?: string | undefined;
}

/** The parameter a stage's last drill result is kept in (IAM scopes the drill to it). */
export const lastResultParameter = (stage: string): string => `/gitpod-dr/${stage}/drill/last-result`;

/** The kind `auto` resolves to: the first API family that has a snapshot of the database. */
async function newestSnapshot(
  rds: LatestRecoveryPointsDeps["rds"],
  config: RestoreJobConfig,
): Promise<{ kind: DatabaseKind; snapshot: Snapshot }> {
  const kinds: DatabaseKind[] =
    config.database.kind === "auto" ? ["instance", "cluster"] : [config.database.kind];
  let last: unknown;
  for (const kind of kinds) {
    try {
      const snapshot = await resolveRestoreSnapshot(
        snapshotApi(kind),
        rds as RDSClient,
        config.database.identifier,
        "latest",
      );
      return { kind, snapshot };
    } catch (error) {
      if (!(error instanceof RestoreSnapshotNotFoundError)) throw error;
      last = error;
    }
  }
  throw last;
}

/**
 * The restore's `latest` as a `DrillRecoveryPoints`.
 * @throws RestoreSnapshotNotFoundError, VeleroBackupNotFoundError (from `newest`), AwsCallError
 */
export function latestRecoveryPoints(
  config: RestoreJobConfig,
  deps: LatestRecoveryPointsDeps,
): DrillRecoveryPoints {
  return {
    async newest(): Promise<DrillRecoveryPoint> {
      const { kind, snapshot } = await newestSnapshot(deps.rds, config);
      const at = recoveryTime(snapshot).at ?? new Date(0);
      const app = config.application;
      const kube = app ? await deps.kube() : undefined;
      const backup =
        app && kube
          ? await resolveBackup(kube, app.veleroNamespace, "latest", app.includeKotsBackups)
          : undefined;
      const total = (backup?.status as { progress?: { totalItems?: number } } | undefined)?.progress
        ?.totalItems;
      const references = config.restore.images?.references ?? [];
      return {
        id: `${snapshot.identifier}${backup ? `+${backup.metadata.name}` : ""}`,
        recoveryTime: at.toISOString(),
        database: {
          kind,
          snapshotIdentifier: snapshot.identifier,
          snapshotArn: snapshot.arn,
          ...(snapshot.engine ? { engine: snapshot.engine } : {}),
          ...(snapshot.engineVersion ? { engineVersion: snapshot.engineVersion } : {}),
        },
        ...(backup
          ? {
              application: {
                backupName: backup.metadata.name,
                ...(total !== undefined ? { itemsBackedUp: total } : {}),
              },
            }
          : {}),
        ...(deps.registry && references.length > 0
          ? { images: references.map((r) => ({ reference: `${deps.registry}/${r}` })) }
          : {}),
        ...(config.storageBuckets.length > 0
          ? {
              objectStorage: config.storageBuckets.map((bucket) => ({
                bucket,
                region: config.regions.primary,
                watermark: at.toISOString(),
              })),
            }
          : {}),
      };
    },

    async previous(): Promise<DrillResult | undefined> {
      try {
        const out = await deps.ssm.send(new GetParameterCommand({ Name: deps.parameterName }));
        return out.Parameter?.Value ? (JSON.parse(out.Parameter.Value) as DrillResult) : undefined;
      } catch (error) {
        if (awsErrorCode(error) === "ParameterNotFound") return undefined;
        throw wrapAwsError(`Unable to read the last drill result ${deps.parameterName}`, error);
      }
    },

    async recordResult(result: DrillResult): Promise<void> {
      // Only a success becomes the next drill's baseline; a failure is in the message and the metric.
      if (!result.succeeded) return;
      try {
        await deps.ssm.send(
          new PutParameterCommand({
            Name: deps.parameterName,
            Value: JSON.stringify(result),
            Type: "String",
            Overwrite: true,
          }),
        );
      } catch (error) {
        throw wrapAwsError(`Unable to record the drill result in ${deps.parameterName}`, error);
      }
    },
  };
}
