/**
 * The fake KMS, and the seed data and helpers the RDS tests build their worlds from: snapshots as
 * gitpod-dr and others make them, the job's config, and the commands a region was sent.
 */
import { DescribeKeyCommand, KMSClient, NotFoundException } from "@aws-sdk/client-kms";
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import type { RdsJobConfig } from "../../../core/src/config.ts";
import type { RdsJobDeps } from "../../../core/src/rds/job.ts";
import { snapshotIdentifier, snapshotTags, TAG_SOURCE_SNAPSHOT } from "../../../core/src/rds/naming.ts";
import type { DatabaseKind } from "../../../core/src/rds/types.ts";
import {
  AWS_RDS_KEY,
  DR_KEY_SAME_ACCOUNT,
  DR_REGION,
  type FakeDatabase,
  type FakeSnapshot,
  PRIMARY_CMK,
  PRIMARY_REGION,
} from "./fake-rds-model.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

import { FakeAws, type FakeRdsRegion } from "./fake-rds-region.ts";

/** KMS in the primary region: `DescribeKey` answers from a map of key ARN to `KeyManager`. */
export class FakeKms {
  readonly client = new KMSClient({
    region: PRIMARY_REGION,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
  });
  readonly mock = mockClient(this.client);

  constructor(keys: Record<string, "AWS" | "CUSTOMER">) {
    this.mock.on(DescribeKeyCommand).callsFake((input) => {
      const manager = input.KeyId ? keys[input.KeyId] : undefined;
      if (!manager) {
        throw new NotFoundException({ message: `Key '${input.KeyId}' does not exist`, $metadata: {} });
      }
      // As KMS answers: KeyId is the key's id (the ARN's last part), not the ARN it was asked by.
      const arn = input.KeyId as string;
      return {
        KeyMetadata: {
          KeyId: arn.slice(arn.indexOf(":key/") + ":key/".length),
          Arn: arn,
          AWSAccountId: arn.split(":")[4],
          KeyManager: manager,
          Enabled: true,
          KeyState: "Enabled",
        },
      };
    });
  }
}

/** The scheduled time of the run under test, and the job's clock a few seconds later. */
export const TIME = new Date("2026-11-26T03:00:00Z");
export const NOW = new Date("2026-11-26T03:00:42Z");

/** The time `days` days (and `hours` hours) before the run under test. */
export const ago = (days: number, hours = 0) => new Date(TIME.getTime() - days * DAY_MS - hours * HOUR_MS);

/** A snapshot as gitpod-dr creates it for `db` in the window of `time`. */
export function ours(db: string, time: Date, fields: Partial<FakeSnapshot> = {}): FakeSnapshot {
  return {
    identifier: snapshotIdentifier(db, time),
    databaseIdentifier: db,
    status: "available",
    type: "manual",
    createdAt: time,
    tags: snapshotTags(db, time),
    encrypted: true,
    kmsKeyId: PRIMARY_CMK,
    ...fields,
  };
}

/** A snapshot somebody else made: no gitpod-dr tags. */
export function foreign(
  identifier: string,
  db: string,
  time: Date,
  fields: Partial<FakeSnapshot> = {},
): FakeSnapshot {
  return {
    identifier,
    databaseIdentifier: db,
    status: "available",
    type: "manual",
    createdAt: time,
    tags: { team: "platform" },
    encrypted: true,
    kmsKeyId: PRIMARY_CMK,
    ...fields,
  };
}

/** The DR copy gitpod-dr makes of `source` (which lives in `sourceRegion`). */
export function copyOf(
  sourceRegion: FakeRdsRegion,
  kind: DatabaseKind,
  source: FakeSnapshot,
  fields: Partial<FakeSnapshot> = {},
): FakeSnapshot {
  const sourceArn = sourceRegion.arn(kind, source.identifier);
  return {
    ...source,
    copiedAt: new Date(source.createdAt.getTime() + HOUR_MS),
    tags: { ...source.tags, [TAG_SOURCE_SNAPSHOT]: sourceArn },
    kmsKeyId: DR_KEY_SAME_ACCOUNT,
    sourceArn,
    ...fields,
  };
}

/** The configuration of the job under test; tests override what they exercise. */
export function jobConfig(overrides: Partial<RdsJobConfig> = {}): RdsJobConfig {
  return {
    stage: "test",
    database: { identifier: "gitpod", kind: "auto" },
    regions: { primary: PRIMARY_REGION, dr: DR_REGION },
    drKmsKeyArn: DR_KEY_SAME_ACCOUNT,
    retention: { keepLast: 2, maxAgeDays: 7 },
    drRetention: { keepLast: 2, maxAgeDays: 7 },
    manualSnapshotQuota: 100,
    maxConcurrentCopies: 5,
    ...overrides,
  };
}

/** The database most tests use: DB instance `gitpod`, encrypted with a customer managed key. */
export function gitpodInstance(fields: Partial<FakeDatabase> = {}): FakeDatabase {
  return { kind: "instance", identifier: "gitpod", encrypted: true, kmsKeyId: PRIMARY_CMK, ...fields };
}

/** The snapshot of the window of TIME for the database `gitpod`. */
export const THIS_WINDOW = "gitpod-dr-gitpod-2026-11-26-0300";

/** Both fake regions, KMS, and the job's deps wired to them. */
export function rdsWorld(keys: Record<string, "AWS" | "CUSTOMER"> = {}) {
  const aws = new FakeAws(() => NOW);
  const primary = aws.region(PRIMARY_REGION);
  const dr = aws.region(DR_REGION);
  const kms = new FakeKms({ [PRIMARY_CMK]: "CUSTOMER", [AWS_RDS_KEY]: "AWS", ...keys });
  const deps: RdsJobDeps = {
    rdsPrimary: primary.client,
    rdsDr: dr.client,
    kmsPrimary: kms.client,
    now: () => NOW,
  };
  return { aws, primary, dr, kms, deps };
}

/** The commands that create a database, which a restore sends. */
export const RESTORE_COMMANDS = [
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBClusterFromSnapshotCommand,
  CreateDBInstanceCommand,
] as const;

/** The names of the commands that create a database which a region received, in order. */
export function restoresTo(region: FakeRdsRegion): string[] {
  return region.mock
    .calls()
    .map((call) => call.args[0])
    .filter((command) => RESTORE_COMMANDS.some((Restore) => command instanceof Restore))
    .map((command) => command.constructor.name);
}

/** The commands that change RDS, of both families. */
export const WRITE_COMMANDS = [
  CreateDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CopyDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DeleteDBClusterSnapshotCommand,
] as const;

/** The names of the commands a region received, in order. */
export function commandsSent(region: FakeRdsRegion): string[] {
  return region.mock.calls().map((call) => call.args[0].constructor.name);
}

/** The names of the commands that change RDS which a region received, in order. */
export function writesTo(region: FakeRdsRegion): string[] {
  return region.mock
    .calls()
    .map((call) => call.args[0])
    .filter((command) => WRITE_COMMANDS.some((Write) => command instanceof Write))
    .map((command) => command.constructor.name);
}
