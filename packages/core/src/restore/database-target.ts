import { DescribeSecurityGroupsCommand, type EC2Client, type SecurityGroup } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from "@aws-sdk/client-kms";
import {
  DescribeDBClusterParameterGroupsCommand,
  DescribeDBParameterGroupsCommand,
  DescribeDBSubnetGroupsCommand,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { sameIdentifier } from "../rds/api.ts";
import type { DatabaseKind } from "../rds/types.ts";
import type { RestoreTargetSettings, SnapshotRef } from "./types.ts";

/**
 * The restore target's settings checked in its region before anything is created (part of "Build
 * plan"): what RDS would otherwise refuse only after an Aurora cluster had been restored, or at the
 * database's start. Each problem names the configuration field; nothing here changes anything.
 */

export interface TargetCheckDeps {
  readonly rds: (region: string) => Pick<RDSClient, "send">;
  readonly ec2: (region: string) => Pick<EC2Client, "send">;
  readonly kms: (region: string) => Pick<KMSClient, "send">;
}

export interface TargetCheck {
  readonly kind: DatabaseKind;
  readonly region: string;
  readonly snapshot: SnapshotRef;
  readonly settings: RestoreTargetSettings;
  /** The configuration path of the settings, e.g. `restore.targets.dr.database`. */
  readonly field: string;
}

/**
 * Whether a parameter group family (`mysql8.0`, `aurora-mysql8.0`, `postgres15`, `aurora5.6`) fits a
 * snapshot's engine and version. Unknown when the family has no version suffix (then only the engine is
 * compared) or the snapshot does not report its engine (then it fits: RDS judges it).
 */
export function familyFits(family: string, engine: string | undefined, version: string | undefined): boolean {
  if (!engine) return true;
  const match = /^(.*?)-?(\d+(?:\.\d+)?)$/.exec(family);
  const familyEngine = match?.[1] ?? family;
  const familyVersion = match?.[2];
  if (familyEngine !== engine) return false;
  if (!familyVersion || !version) return true;
  return version === familyVersion || version.startsWith(`${familyVersion}.`);
}

async function subnetGroupVpc(rds: Pick<RDSClient, "send">, name: string): Promise<string | undefined> {
  try {
    const out = await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: name }));
    return out.DBSubnetGroups?.[0]?.VpcId;
  } catch (error) {
    if (awsErrorCode(error) === "DBSubnetGroupNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe DB subnet group ${name}`, error);
  }
}

/** The security groups' problems: missing in the region, or in another VPC than the subnet group's. */
async function securityGroupProblems(deps: TargetCheckDeps, t: TargetCheck, checked: string[]) {
  const ids = t.settings.securityGroupIds;
  let found: Pick<SecurityGroup, "GroupId" | "VpcId">[];
  try {
    // A filter (not GroupIds) so that a missing id is left out of the answer instead of failing the call.
    const out = await deps
      .ec2(t.region)
      .send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "group-id", Values: [...ids] }] }));
    found = out.SecurityGroups ?? [];
  } catch (error) {
    throw wrapAwsError("Unable to describe the restore's security groups", error);
  }
  const missing = ids.filter((id) => !found.some((g) => g.GroupId === id));
  if (missing.length > 0) {
    return [
      `security group${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of ${t.field} do not exist in ${t.region}`,
    ];
  }
  checked.push(`security groups ${ids.join(", ")} exist in ${t.region}`);
  const vpc = await subnetGroupVpc(deps.rds(t.region), t.settings.subnetGroupName);
  if (!vpc) {
    return [
      `${t.field}.subnetGroupName: DB subnet group ${t.settings.subnetGroupName} does not exist in ${t.region}`,
    ];
  }
  // RDS places the database in the subnet group's VPC and accepts only security groups of that VPC.
  const elsewhere = found.filter((g) => g.VpcId !== vpc);
  if (elsewhere.length === 0) {
    checked.push(`security groups are in VPC ${vpc} of DB subnet group ${t.settings.subnetGroupName}`);
    return [];
  }
  return elsewhere.map(
    (g) =>
      `${t.field}.securityGroupIds: security group ${g.GroupId} is in VPC ${g.VpcId ?? "(none reported)"}, but DB subnet group ${t.settings.subnetGroupName} is in VPC ${vpc}: RDS accepts only security groups of the subnet group's VPC`,
  );
}

/** The family of a (cluster) parameter group, or undefined when it does not exist. */
async function parameterGroupFamily(
  rds: Pick<RDSClient, "send">,
  cluster: boolean,
  name: string,
): Promise<string | undefined> {
  try {
    // A name RDS does not know is DBParameterGroupNotFound (moto answers an empty list instead: both mean missing).
    const groups = cluster
      ? (
          await rds.send(new DescribeDBClusterParameterGroupsCommand({ DBClusterParameterGroupName: name }))
        ).DBClusterParameterGroups?.map((g) => ({
          name: g.DBClusterParameterGroupName,
          family: g.DBParameterGroupFamily,
        }))
      : (
          await rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: name }))
        ).DBParameterGroups?.map((g) => ({ name: g.DBParameterGroupName, family: g.DBParameterGroupFamily }));
    const group = groups?.find((g) => sameIdentifier(g.name, name));
    return group ? (group.family ?? "") : undefined;
  } catch (error) {
    if (awsErrorCode(error) === "DBParameterGroupNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe DB ${cluster ? "cluster " : ""}parameter group ${name}`, error);
  }
}

async function parameterGroupProblems(deps: TargetCheckDeps, t: TargetCheck, checked: string[]) {
  const problems: string[] = [];
  // The instance's group is used by a DB instance restore and by an Aurora cluster's writer; the cluster's
  // group only by a cluster restore.
  const wanted: [string, boolean, string | undefined][] = [
    ["parameterGroupName", false, t.settings.parameterGroupName],
    [
      "clusterParameterGroupName",
      true,
      t.kind === "cluster" ? t.settings.clusterParameterGroupName : undefined,
    ],
  ];
  const { engine, engineVersion } = t.snapshot;
  for (const [setting, cluster, name] of wanted) {
    if (!name) continue;
    const what = `DB ${cluster ? "cluster " : ""}parameter group ${name}`;
    const family = await parameterGroupFamily(deps.rds(t.region), cluster, name);
    if (family === undefined) {
      problems.push(
        `${t.field}.${setting}: ${what} does not exist in ${t.region}: create it there or fix the setting`,
      );
    } else if (!familyFits(family, engine, engineVersion)) {
      problems.push(
        `${t.field}.${setting}: ${what} is of family ${family}, but snapshot ${t.snapshot.identifier} is ${engine} ${engineVersion ?? ""}`.trimEnd() +
          `: use a group of the snapshot's engine family`,
      );
    } else {
      checked.push(`${what} (${family}) exists in ${t.region}`);
    }
  }
  return problems;
}

/** The KMS key a cluster is restored with: it exists in the region, is enabled, and RDS can encrypt with it. */
async function kmsKeyProblems(deps: TargetCheckDeps, t: TargetCheck, checked: string[]) {
  const arn = t.settings.kmsKeyArn;
  // Only RestoreDBClusterFromSnapshot takes a key; a DB instance keeps its snapshot's.
  if (!arn || t.kind !== "cluster") return [];
  const setting = `${t.field}.kmsKeyArn`;
  let key: Pick<KeyMetadata, "KeyState" | "KeyUsage" | "KeySpec"> | undefined;
  try {
    key = (await deps.kms(t.region).send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata;
  } catch (error) {
    if (awsErrorCode(error) === "NotFoundException") {
      return [`${setting}: KMS key ${arn} does not exist in ${t.region}`];
    }
    throw wrapAwsError(`Unable to describe KMS key ${arn} in ${t.region}`, error);
  }
  if (key?.KeyState !== "Enabled") {
    return [
      `${setting}: KMS key ${arn} is ${key?.KeyState ?? "in an unknown state"}, not Enabled: RDS cannot encrypt with it`,
    ];
  }
  if (
    (key.KeyUsage ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT" ||
    (key.KeySpec ?? "SYMMETRIC_DEFAULT") !== "SYMMETRIC_DEFAULT"
  ) {
    return [
      `${setting}: KMS key ${arn} is a ${key.KeySpec} key for ${key.KeyUsage}: RDS encrypts only with symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)`,
    ];
  }
  checked.push(`KMS key ${arn} is enabled in ${t.region}`);
  return [];
}

/**
 * Checks the target's security groups (exist, in the subnet group's VPC), parameter groups (exist, of
 * the snapshot's engine family) and, for a cluster, its KMS key (exists in the region, enabled,
 * symmetric).
 * @returns every problem found, and what was checked and holds.
 */
export async function checkDatabaseTarget(
  deps: TargetCheckDeps,
  target: TargetCheck,
): Promise<{ problems: string[]; checked: string[] }> {
  const checked: string[] = [];
  const problems = [
    ...(await securityGroupProblems(deps, target, checked)),
    ...(await parameterGroupProblems(deps, target, checked)),
    ...(await kmsKeyProblems(deps, target, checked)),
  ];
  return { problems, checked };
}
