import type { RDSClient } from "@aws-sdk/client-rds";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import type { DrillJobConfig } from "../config/drill.ts";
import type { TransportFor } from "../registry/copy.ts";
import { checkDatabaseStep, restoreDatabaseStep } from "../restore/database.ts";
import { checkDeadline } from "../restore/errors.ts";
import { passedOn } from "../restore/types.ts";
import type { KubeOps } from "../velero/kube.ts";
import { type DrillRestoreStarted, startDrillRestore, verifyDrillRestore } from "./application.ts";
import { prepareScratchAccess } from "./credentials.ts";
import { DrillVerificationFailedError } from "./errors.ts";
import { checkImagePresence } from "./images.ts";
import type { DrillKube } from "./kube.ts";
import { drillId, scratchNamespace } from "./naming.ts";
import { sampleReplica } from "./object-storage.ts";
import { type DrillPlan, drillRegion, scratchDatabase } from "./plan.ts";
import { tearDown } from "./teardown.ts";
import type { DrillRecoveryPoints } from "./types.ts";

/**
 * The drill state machine's task steps, one short call each (Step Functions does the waiting). The
 * database and application restores reuse the restore's own task functions' core (`restore/database.ts`,
 * Velero's Restore); everything lands in scratch resources named from the drill id. "Check database",
 * which runs in its own function in the drill's VPC, is drill/database-step.ts.
 */

export interface DrillDeps {
  readonly now: () => Date;
  readonly points: () => DrillRecoveryPoints;
  /** RDS and Secrets Manager in the drill's target region. */
  readonly rds: () => RDSClient;
  readonly secrets: () => Pick<SecretsManagerClient, "send">;
  /** The target cluster (undefined: no application tier). */
  readonly kube: () => Promise<(KubeOps & DrillKube) | undefined>;
  readonly transportFor: () => TransportFor;
  readonly s3: (region: string) => Pick<S3Client, "send">;
}

const plan = passedOn<DrillPlan>();
export const drillEvent = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("plan"),
    executionName: z.string().min(1),
    executionStartedAt: z.string().min(1),
  }),
  z.object({ action: z.literal("restore-database"), drill: plan }),
  z.object({
    action: z.literal("check-database-restore"),
    drill: plan,
    started: z.object({ startedAt: z.string() }),
  }),
  z.object({ action: z.literal("prepare-database-access"), drill: plan }),
  z.object({ action: z.literal("restore-application"), drill: plan }),
  z.object({ action: z.literal("check-application"), drill: plan, started: passedOn<DrillRestoreStarted>() }),
  z.object({ action: z.literal("check-images"), drill: plan }),
  z.object({ action: z.literal("check-object-storage"), drill: plan }),
  // The whole state: a failed "Plan drill" leaves no drill id, and then every drill's resources go.
  // A second teardown (waiting for Terminating namespaces) adds to what the first removed.
  z.object({
    action: z.literal("teardown"),
    state: passedOn<{ drill?: Pick<DrillPlan, "drillId">; teardown?: { removed?: readonly string[] } }>(),
  }),
]);
export type DrillEvent = z.infer<typeof drillEvent>;

const failIf = (what: string, problems: readonly string[], summary: unknown) => {
  if (problems.length > 0) {
    throw new DrillVerificationFailedError(`${what}: ${problems.join("; ")}`, problems, summary);
  }
};

/**
 * Runs one step of the drill.
 * @throws DrillVerificationFailedError (a check failed), DrillNotReadyError, DrillTeardownFailedError,
 *   RestoreDeadlineExceededError, and the restore's and AWS's named errors
 */
export async function drillStep(e: DrillEvent, config: DrillJobConfig, deps: DrillDeps): Promise<unknown> {
  const kubeOrFail = async () => {
    const kube = await deps.kube();
    if (!kube)
      throw new TypeError("The drill restores the application but the stage has no cluster for its target");
    return kube;
  };
  const app = config.application;
  switch (e.action) {
    case "plan": {
      const id = drillId(e.executionName, e.executionStartedAt);
      const kube = await deps.kube();
      const leftovers = await tearDown(
        { rds: deps.rds(), secrets: deps.secrets(), kube },
        { stage: config.stage, veleroNamespace: app?.veleroNamespace },
      );
      const points = deps.points();
      const previous = await points.previous();
      const result: DrillPlan = {
        drillId: id,
        startedAt: e.executionStartedAt,
        region: drillRegion(config),
        point: await points.newest(),
        ...(previous ? { previous } : {}),
        leftoversRemoved: leftovers.removed,
      };
      return result;
    }
    case "restore-database":
      return restoreDatabaseStep(
        deps.rds(),
        e.drill.drillId,
        e.drill.region,
        scratchDatabase(config, e.drill),
        deps.now(),
      );
    case "check-database-restore":
      return checkDatabaseStep(
        deps.rds(),
        e.drill.drillId,
        e.drill.region,
        scratchDatabase(config, e.drill),
        e.started.startedAt,
        config.restore.database.deadlineMinutes,
        deps.now(),
      );
    case "prepare-database-access": {
      const db = scratchDatabase(config, e.drill);
      return prepareScratchAccess(
        { rds: deps.rds(), secrets: deps.secrets() },
        { kind: db.kind, identifier: db.identifier, stage: config.stage, drillId: e.drill.drillId },
      );
    }
    case "restore-application": {
      const backup = e.drill.point.application?.backupName;
      if (!app || !backup)
        throw new DrillVerificationFailedError("The recovery point has no Velero backup", [
          "no Velero backup",
        ]);
      return startDrillRestore(
        await kubeOrFail(),
        {
          drillId: e.drill.drillId,
          backupName: backup,
          veleroNamespace: app.veleroNamespace,
          namespaces: app.includedNamespaces,
          holdNamespace: config.restore.application.namespace,
          holdSelector: config.restore.application.holdSelector,
        },
        deps.now(),
      );
    }
    case "check-application": {
      if (!app) throw new TypeError("The stage has no application tier");
      const verified = await verifyDrillRestore(await kubeOrFail(), {
        veleroNamespace: app.veleroNamespace,
        name: e.started.name,
        scratchNamespaces: app.includedNamespaces.map((n) => scratchNamespace(n, e.drill.drillId)),
        expectedKinds: config.drill.checks.application.expectedKinds,
        allowPartialRestore: config.drill.allowPartialRestore,
        itemsBackedUp: e.drill.point.application?.itemsBackedUp,
      });
      if (!verified.done) {
        checkDeadline(
          e.started.startedAt,
          config.restore.application.restoreDeadlineMinutes,
          deps.now(),
          `The drill's Velero restore ${e.started.name} (${verified.phase})`,
          "restore.application.restoreDeadlineMinutes",
        );
        return verified;
      }
      failIf("The application restore failed its checks", verified.problems, verified);
      return { ...verified, finishedAt: deps.now().toISOString() };
    }
    case "check-images": {
      const result = await checkImagePresence(e.drill.point.images ?? [], deps.transportFor());
      failIf("Images are missing from the target registry", result.problems, result);
      return result;
    }
    case "check-object-storage": {
      const sampleSize = config.drill.checks.objectStorage.sampleSize;
      const results = [];
      for (const b of e.drill.point.objectStorage ?? []) {
        results.push(
          await sampleReplica(
            { source: deps.s3(b.region), replica: deps.s3(drillRegion(config)) },
            { bucket: b.bucket, watermark: b.watermark, sampleSize },
          ),
        );
      }
      failIf(
        "The replica sample failed",
        results.flatMap((r) => r.problems),
        results,
      );
      return { buckets: results };
    }
    case "teardown": {
      const report = await tearDown(
        { rds: deps.rds(), secrets: deps.secrets(), kube: await deps.kube() },
        {
          stage: config.stage,
          drillId: e.state.drill?.drillId,
          veleroNamespace: app?.veleroNamespace,
          now: deps.now(),
        },
      );
      return { ...report, removed: [...(e.state.teardown?.removed ?? []), ...report.removed] };
    }
  }
}
