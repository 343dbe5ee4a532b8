/**
 * The fake RDS's model: the accounts, regions and keys of its world, the shapes of its snapshots and
 * databases, and the faults it answers with (the SDK's own exception classes).
 */
import { RDSServiceException, type Tag } from "@aws-sdk/client-rds";
import type { DatabaseKind } from "../../../core/src/rds/types.ts";

export const ACCOUNT = "111111111111";
export const OTHER_ACCOUNT = "222222222222";
export const PRIMARY_REGION = "eu-west-1";
export const DR_REGION = "eu-central-1";
/** The customer managed key of the primary database. */
export const PRIMARY_CMK = `arn:aws:kms:${PRIMARY_REGION}:${ACCOUNT}:key/1111aaaa-primary-cmk`;
/** The AWS managed key `aws/rds` of the primary region. */
export const AWS_RDS_KEY = `arn:aws:kms:${PRIMARY_REGION}:${ACCOUNT}:key/2222bbbb-aws-rds`;
export const DR_KEY_SAME_ACCOUNT = `arn:aws:kms:${DR_REGION}:${ACCOUNT}:key/3333cccc-dr-cmk`;
/** The VPC every fake subnet group is in unless a test says otherwise. */
export const FAKE_VPC = "vpc-0fake0000000000001";
export const DR_KEY_OTHER_ACCOUNT = `arn:aws:kms:${DR_REGION}:${OTHER_ACCOUNT}:key/4444dddd-dr-cmk`;

export interface FakeSnapshot {
  identifier: string;
  /** The DB instance or cluster it was taken of. */
  databaseIdentifier: string;
  status: string;
  type: "manual" | "automated";
  /** When the data was captured; a copy keeps its source's (RDS `OriginalSnapshotCreateTime`). */
  createdAt: Date;
  /** For a copy: when the copy was made (RDS `SnapshotCreateTime` of a DB snapshot copy). */
  copiedAt?: Date;
  tags: Record<string, string>;
  encrypted: boolean;
  kmsKeyId?: string | undefined;
  /** For a cross-region copy: the ARN of its source snapshot. */
  sourceArn?: string;
  /** The engine RDS reports on the snapshot (`Engine`); left out of Describe* when not set. */
  engine?: string;
  /** The engine version RDS reports on the snapshot (`EngineVersion`); left out when not set. */
  engineVersion?: string;
}

export interface FakeDatabase {
  kind: DatabaseKind;
  identifier: string;
  encrypted: boolean;
  kmsKeyId?: string;
  /** For a DB instance that is a member of an Aurora or Multi-AZ cluster. */
  clusterIdentifier?: string;
  /** RDS status (`creating`, `available`, `failed`, …); `available` when not set. */
  status?: string;
  /** The engine Describe* reports; `mysql` (`aurora-mysql` for clusters and their members) when not set. */
  engine?: string;
  /** The database's tags; Describe* reports a `TagList` only when set. */
  tags?: Record<string, string>;
  /** The connection endpoint; Describe* reports it only when set (see `FakeRdsRegion.settle`). */
  endpoint?: { address: string; port: number };
  /** What the Restore* or CreateDBInstance request that made this database asked for. */
  settings?: FakeDatabaseSettings;
}

/** The settings a restore or CreateDBInstance request gave, as RDS took them (unset fields left out). */
export interface FakeDatabaseSettings {
  /** The snapshot identifier or ARN the database was restored from. */
  snapshot?: string;
  instanceClass?: string;
  subnetGroupName?: string;
  securityGroupIds?: string[];
  parameterGroupName?: string;
  clusterParameterGroupName?: string;
  publiclyAccessible?: boolean;
  deletionProtection?: boolean;
  copyTagsToSnapshot?: boolean;
}

/** What a test compares: a snapshot as it is in a region, without the clock fields. */
export interface SnapshotView {
  identifier: string;
  status: string;
  tags: Record<string, string>;
  kmsKeyId?: string;
  sourceArn?: string;
}

export const fault = <T>(
  Ctor: new (opts: { message: string; $metadata: { httpStatusCode?: number } }) => T,
  message: string,
): T => new Ctor({ message, $metadata: { httpStatusCode: 400 } });

export const toTagList = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** RDS identifier rules of DB instances and clusters: 1-63 letters, digits and single hyphens, letter first. */
const VALID_DB_IDENTIFIER = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-)){0,62}$/;

export function checkDbIdentifier(what: string, identifier: string | undefined): string {
  if (!identifier || !VALID_DB_IDENTIFIER.test(identifier) || identifier.endsWith("-")) {
    throw invalidParameterValue(
      `The parameter ${what} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  return identifier;
}

export const fromTagList = (tags: Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));

export function invalidParameter(message: string): RDSServiceException {
  return new RDSServiceException({
    name: "InvalidParameterCombination",
    $fault: "client",
    message,
    $metadata: { httpStatusCode: 400 },
  });
}

export function invalidParameterValue(message: string): RDSServiceException {
  return new RDSServiceException({
    name: "InvalidParameterValue",
    $fault: "client",
    message,
    $metadata: { httpStatusCode: 400 },
  });
}
