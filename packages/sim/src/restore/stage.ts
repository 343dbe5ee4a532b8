/**
 * The restore harness's stage (test code): the names and times the simulated account uses, the stage
 * configuration and its synthesis into the restore machine's ASL. The harness is ./harness.ts.
 */

import exampleConfig from "../../../../config/example.ts";
import { parseStageConfig, restoreJobConfig, type StageConfigInput } from "../../../core/src/config.ts";
import { ACCOUNT } from "../synth.ts";
import {
  type AslValidation,
  allStates,
  resolveIntrinsics as resolveWith,
  type SynthesizedRestore,
  synthesizeRestoreMachine,
  validateAsl,
} from "./machine.ts";

// ---------------------------------------------------------------------------------------------------
// The stage
// ---------------------------------------------------------------------------------------------------

/** The account the stage is synthesized into (the synthesis fixture's). */
export { ACCOUNT };
export const STAGE = "restoresim";
export const PRIMARY = "eu-west-1";
export const DR = "eu-central-1";
export const DATABASE = "gitpod-db";
export const PRIMARY_CLUSTER = "gitpod";
export const DR_CLUSTER = "gitpod-dr";
export const PRIMARY_SG = "sg-0123456789abcdef0";
export const DR_SG = "sg-0fedcba9876543210";
export const PRIMARY_REGISTRY = `${ACCOUNT}.dkr.ecr.${PRIMARY}.amazonaws.com`;
export const DR_REGISTRY = `${ACCOUNT}.dkr.ecr.${DR}.amazonaws.com`;
export const REPLICA_BUCKET = "gitpod-workspaces-replica";
export const SOURCE_BUCKET = "gitpod-workspace-backups";
export const TOPIC_ARN = `arn:aws:sns:${PRIMARY}:${ACCOUNT}:gitpod-dr-${STAGE}-alerts`;
/** The URL the definition is synthesized with; the run-time configuration names the fake kotsadm. */
export const PLACEHOLDER_KOTSADM = "http://kotsadm.gitpod.internal:3000";

/** The backups in both clusters' Velero (one bucket): the newest Completed one of gitpod-dr is BACKUP. */
export const BACKUP = "gitpod-dr-2026-11-26-0200";
export const OLDER_BACKUP = "gitpod-dr-2026-11-25-0200";
/** The backed-up replica counts of the application's Deployments (Velero restores them as they are). */
export const BACKED_UP_REPLICAS = { server: 1, proxy: 2 } as const;
/** The proxy replicas of KOTS's manifests: a KOTS deploy sets them (the backup has 2). */
export const KOTS_PROXY_REPLICAS = 3;
/** The scheduling gate and the annotation the restore holds the application with. */
export const HOLD_GATE = "gitpod-dr/held";
export const HELD_ANNOTATION = "gitpod-dr/held-by-restore";

/** What the application's database Secret named before the restore (password must never leak). */
export const OLD_DB = {
  host: "gitpod-db.old.eu-west-1.rds.amazonaws.com",
  port: "3306",
  password: "old-db-s3cret-password",
};

/** The snapshots: in the primary region the newest of ours is NEWEST_SNAPSHOT; in DR only a copy of OLDER. */
export const SNAPSHOT_TIME = new Date("2026-11-26T03:00:00Z");
export const OLDER_SNAPSHOT_TIME = new Date("2026-11-25T03:00:00Z");
export const NEWEST_SNAPSHOT = "gitpod-dr-gitpod-db-2026-11-26-0300";
export const OLDER_SNAPSHOT = "gitpod-dr-gitpod-db-2026-11-25-0300";

export interface StageOptions {
  /** Leave out restore.targets.dr. */
  noDr?: boolean;
  point?: { kind: "kots"; url: string } | { kind: "secret" };
  healthUrl?: string;
  images?: { references: string[]; concurrency?: number; insecureRegistries?: string[] };
  /** The targets' registries (default: the ECR hosts above); e.g. local docker-registry instances. */
  registries?: { primary: string; dr: string };
}

/** The stage configuration under test, from config/example.ts. */
export function stageConfig(options: StageOptions = {}): StageConfigInput {
  const example = exampleConfig as unknown as StageConfigInput;
  const point = options.point ?? { kind: "kots", url: PLACEHOLDER_KOTSADM };
  const dr = {
    cluster: { name: DR_CLUSTER },
    database: {
      instanceClass: "db.r6g.large",
      subnetGroupName: "gitpod-db",
      securityGroupIds: [DR_SG],
      kmsKeyArn: `arn:aws:kms:${DR}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
    },
    registry: options.registries?.dr ?? DR_REGISTRY,
    bucket: { name: REPLICA_BUCKET, region: DR },
  };
  const { images: _images, ...restoreBase } = example.restore as NonNullable<StageConfigInput["restore"]>;
  return {
    ...example,
    // The drill restores into the dr target: a stage without one has no drill.
    ...(options.noDr ? { drill: undefined } : {}),
    database: { identifier: DATABASE, kind: "instance" },
    regions: { primary: PRIMARY, dr: DR },
    storage: { ...(example.storage as object), buckets: [SOURCE_BUCKET] } as StageConfigInput["storage"],
    application: {
      ...(example.application as object),
      cluster: { name: PRIMARY_CLUSTER },
    } as StageConfigInput["application"],
    restore: {
      ...restoreBase,
      targets: {
        primary: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-db",
            securityGroupIds: [PRIMARY_SG],
          },
          registry: options.registries?.primary ?? PRIMARY_REGISTRY,
        },
        ...(options.noDr ? {} : { dr }),
      },
      database: { deadlineMinutes: 120, pollSeconds: 60 },
      application: {
        namespace: "gitpod",
        holdSelector: { app: "gitpod" },
        point:
          point.kind === "kots"
            ? { kind: "kots", url: point.url, appSlug: "gitpod", namespace: "gitpod" }
            : { kind: "secret" },
        restoreDeadlineMinutes: 60,
        rolloutDeadlineMinutes: 30,
        ...(options.healthUrl ? { healthUrl: options.healthUrl } : {}),
      },
      ...(options.images ? { images: options.images } : {}),
    },
  } as StageConfigInput;
}

/** The restore functions' GITPOD_DR_CONFIG for the stage (as stacks/Restore.ts derives it). */
export function jobConfigJson(options: StageOptions = {}): string {
  return JSON.stringify(restoreJobConfig(STAGE, ACCOUNT, parseStageConfig(stageConfig(options))));
}

// ---------------------------------------------------------------------------------------------------
// Synthesis → ASL
// ---------------------------------------------------------------------------------------------------

/** Resolves the intrinsics CDK writes into a DefinitionString, in the harness's region and account. */
export function resolveIntrinsics(value: unknown): string {
  return resolveWith(value, { region: PRIMARY, account: ACCOUNT });
}

export type { AslValidation, SynthesizedRestore };
export { allStates, validateAsl };

/** Synthesizes the stage (every stack, as `sst deploy` would) and returns the restore machine's ASL. */
export function synthesizeRestore(config: StageConfigInput): Promise<SynthesizedRestore> {
  return synthesizeRestoreMachine(config, { stage: STAGE, region: PRIMARY });
}
