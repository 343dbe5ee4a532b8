import * as z from "zod";
import type { Tier } from "./input.ts";
import type { RecoveryPointRef } from "./recovery-point.ts";

/**
 * The data that flows between the restore state machine's states. Everything is plain JSON: Step
 * Functions carries it from one task to the next.
 */

export interface SnapshotRef {
  readonly identifier: string;
  readonly arn: string;
  /** SnapshotCreateTime (for an instance snapshot copy, the original's; for a cluster snapshot copy, the copy's). */
  readonly createdAt?: string;
  /** The recovery time the RDS job recorded (its gitpod-dr:window tag); absent on a snapshot without it. */
  readonly window?: string;
  readonly engine?: string;
  readonly engineVersion?: string;
  readonly encrypted: boolean;
}

/** Per-region settings of the restored database (subnets and keys differ between regions). */
export interface RestoreTargetSettings {
  readonly instanceClass: string;
  readonly subnetGroupName: string;
  readonly securityGroupIds: readonly string[];
  readonly parameterGroupName?: string;
  readonly clusterParameterGroupName?: string;
  /** The KMS key of the restored storage (a cluster restored from an encrypted snapshot needs one in the region). */
  readonly kmsKeyArn?: string;
  /** Default true; a drill's scratch database is restored without it (its teardown deletes it). */
  readonly deletionProtection?: boolean;
}

/** The output of "Validate input": the input with defaults filled and `latest` resolved for the database. */
export interface RestoreRequest {
  readonly restoreId: string;
  readonly target: "primary" | "dr";
  /** The region restored into. */
  readonly region: string;
  readonly tiers: readonly Tier[];
  readonly dryRun: boolean;
  readonly allowPartialRestore: boolean;
  /** As asked (`latest` or a name). */
  readonly dbSnapshot: string;
  readonly veleroBackup: string;
  readonly executionStartedAt: string;
  /** `{}` with a catalog: the newest complete recovery point the restore uses (explicit names override). */
  readonly recoveryPoint?: RecoveryPointRef;
  /** Why no recovery point of the catalog is used, when one was looked for. */
  readonly recoveryPointNote?: string;
  readonly database?: {
    readonly kind: "instance" | "cluster";
    readonly snapshot: SnapshotRef;
    readonly identifier: string;
    /** An earlier attempt of this restore id created it: it is adopted, not created again. */
    readonly adopt: boolean;
  };
}

export interface ImageItem {
  /** Where the image must be (the target registry). */
  readonly reference: string;
  /** Where to copy it from when it is missing (the other registry). */
  readonly source?: string;
}

/** The output of "Build plan". With dryRun it is what gets published; nothing has been changed. */
export interface RestorePlan {
  readonly restoreId: string;
  readonly target: "primary" | "dr";
  readonly region: string;
  readonly tiers: readonly Tier[];
  readonly database?: NonNullable<RestoreRequest["database"]> & { readonly settings: RestoreTargetSettings };
  readonly images?: { readonly registry: string; readonly items: readonly ImageItem[] };
  readonly application?: {
    readonly cluster: string;
    readonly veleroNamespace: string;
    readonly backup: { readonly name: string; readonly takenAt?: string };
    readonly restoreName: string;
    readonly modifierName: string;
    /** A Restore of this restore id exists already (an earlier attempt): it is adopted. */
    readonly adopt: boolean;
    /**
     * Set when the backup has file-system volumes in the application namespace: held by the database
     * Secret, not a scheduling gate (`fs-volume-hold.ts`). Absent: the scheduling gate.
     */
    readonly hold?: {
      readonly mode: "database-secret";
      /** `pod/volume` of each file-system volume Velero restores. */
      readonly fileSystemVolumes: readonly string[];
    };
  };
  /** The cluster the application runs in for this restore (pointed, redeployed, verified). */
  readonly cluster?: string;
  /** Endpoints the application is pointed at besides the database (in the DR region: replica bucket, DR registry). */
  readonly endpoints: {
    readonly bucket?: { readonly name: string; readonly region: string };
    readonly registry?: string;
  };
  /** The preconditions that were checked and hold. */
  readonly checked: readonly string[];
}

/** Times every step result carries, for the durations in the final message. */
export interface Timed {
  readonly startedAt: string;
  readonly finishedAt?: string;
}

/**
 * What an earlier state produced for a later one (the request, the plan, a step's result), passed on
 * NOT validated: our own task wrote it and Step Functions carried it unchanged along paths the
 * synthesized definition fixes (test/integration/restore-machine.test.ts runs that definition against
 * these handlers). A schema here would be a second copy of the TypeScript type that could only drift
 * from it. Only that an object is there is checked, so a wiring mistake fails naming the field.
 */
export const passedOn = <T>() => z.custom<T>((v) => typeof v === "object" && v !== null);

/** The request and the plan, as the state machine passes them to the steps after "Build plan". */
export const requestAndPlan = { request: passedOn<RestoreRequest>(), plan: passedOn<RestorePlan>() };
