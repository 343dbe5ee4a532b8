import type { DrillJobConfig } from "@gitpod-dr/core/config/drill";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { DRILL_DB_PREFIX, drillSecretPrefix, TAG_DRILL } from "@gitpod-dr/core/drill/naming";
import { ecrRegistry, parseReference } from "@gitpod-dr/core/registry/reference";
import { METRIC_NAMESPACE } from "@gitpod-dr/core/s3/metrics";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "@gitpod-dr/core/tags";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { FunctionProps, Stack } from "sst/constructs";
import { type Allow, statement } from "../constructs/iam.ts";
import { jobFunction } from "../constructs/JobFunction.ts";
import { acceptWildcards } from "../constructs/nag.ts";
import type { RestoreFunction } from "../restore/functions.ts";
import { drillDatabaseBundling } from "./bundling.ts";
import type { DrillFunctions } from "./definition.ts";

/** The Kubernetes group deploy/rbac-drill.yaml grants (and its admission policy limits); the drill function's role maps to it. */
export const DRILL_KUBERNETES_GROUP = "gitpod-dr-drill";

export interface DrillFunctionsProps {
  readonly config: StageConfig;
  readonly jobConfig: DrillJobConfig;
  readonly region: string;
  readonly clusterArn?: string | undefined;
  readonly alerts: { readonly topic: sns.ITopic; readonly key: kms.IKey };
}

/**
 * The drill's two functions and their IAM. What may be deleted or changed is scoped by name prefix
 * (`gitpod-dr-drill-*`, `gitpod-dr/<stage>/drill/*`) AND by the tool's tag, so production's database
 * and secrets are out of reach whatever a bug asks for (test/stacks/drill.test.ts evaluates it).
 */
export function drillFunctions(stack: Stack, props: DrillFunctionsProps): DrillFunctions {
  const { config, jobConfig, region } = props;
  const make = (
    id: string,
    handler: string,
    description: string,
    timeoutSeconds: number,
    inVpc: boolean,
    nodejs?: FunctionProps["nodejs"],
  ): RestoreFunction => ({
    fn: jobFunction(stack, id, {
      description: `drill — ${description}`,
      handler,
      timeout: timeoutSeconds,
      memorySize: 512,
      logRetention: logs.RetentionDays.ONE_YEAR,
      config: jobConfig,
      topic: props.alerts.topic,
      vpc: inVpc ? jobConfig.drill.vpc : config.application?.vpc,
      nodejs,
    }).fn,
    timeoutSeconds,
  });
  const f: DrillFunctions = {
    drill: make("Drill", "drill", "plan, scratch restores, checks, teardown, result", 300, false),
    // Without iconv-lite's CJK tables (bundling.ts): a utf8mb4 connection never loads them.
    database: make(
      "DrillDatabase",
      "drill-database",
      "database checks over TLS in the VPC",
      120,
      true,
      drillDatabaseBundling(stack),
    ),
  };
  const { partition, account } = stack;
  const rds = (type: string, name: string) => `arn:${partition}:rds:${region}:${account}:${type}:${name}`;
  const allowTo =
    (r: RestoreFunction): Allow =>
    (...args) =>
      r.fn.addToRolePolicy(statement(...args));
  const drill = allowTo(f.drill);
  const database = allowTo(f.database);
  const scratch = [rds("db", `${DRILL_DB_PREFIX}*`), rds("cluster", `${DRILL_DB_PREFIX}*`)];
  const tagged = { StringEquals: { [`aws:ResourceTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE } };
  const requestTagged = { StringEquals: { [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE } };
  const anyDatabase = [rds("db", "*"), rds("cluster", "*")];
  const describe = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"];
  const target = jobConfig.restore.targets[jobConfig.drill.target];

  // Plan: the recovery point comes from the catalog (Drill.ts grants it); leftovers are found by listing the databases.
  drill("DescribeDatabasesToFindDrillLeftovers", describe, anyDatabase);
  database("DescribeTheScratchDatabase", describe, scratch);
  // Restore: only into new drill-named databases that carry the tool's tag.
  const restoreActions = [
    "rds:RestoreDBInstanceFromDBSnapshot",
    "rds:RestoreDBClusterFromSnapshot",
    "rds:CreateDBInstance",
  ];
  drill("RestoreIntoNewDrillDatabases", [...restoreActions, "rds:AddTagsToResource"], scratch, requestTagged);
  const groups = [
    rds("pg", target?.database.parameterGroupName ?? "default.*"),
    rds("cluster-pg", target?.database.clusterParameterGroupName ?? "default.*"),
    rds("og", "default:*"),
  ];
  drill("RestoreFromSnapshotsIntoTheTargetNetwork", restoreActions, [
    rds("snapshot", "*"),
    rds("cluster-snapshot", "*"),
    rds("subgrp", target?.database.subnetGroupName ?? "none"),
    ...groups,
  ]);
  acceptWildcards(
    stack,
    f.drill.fn,
    "RDS's default parameter and option groups, the family following the snapshot's engine version",
    groups.filter((g) => g.includes("*")),
  );
  // Change and delete: drill-named AND tagged databases only (never production's).
  drill(
    "ResetPasswordAndDeleteOnlyDrillDatabases",
    ["rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance", "rds:DeleteDBCluster"],
    scratch,
    tagged,
  );
  if (target?.database.kmsKeyArn) {
    drill(
      "UseTheTargetKeyThroughRds",
      ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
      [target.database.kmsKeyArn],
      {
        StringEquals: { "kms:ViaService": `rds.${region}.amazonaws.com` },
      },
    );
  }
  // The drill's credentials: secrets under its prefix, created with the tool's tag.
  const secrets = `arn:${partition}:secretsmanager:${region}:${account}:secret:${drillSecretPrefix(stack.stage)}*`;
  drill(
    "CreateDrillSecrets",
    ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
    [secrets],
    requestTagged,
  );
  drill(
    "ReadAndDeleteDrillSecrets",
    ["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
    [secrets],
    tagged,
  );
  database("ReadDrillSecrets", ["secretsmanager:GetSecretValue"], [secrets], tagged);
  // ListSecrets has no resource-level permissions.
  drill("ListSecretsToFindDrillLeftovers", ["secretsmanager:ListSecrets"], ["*"]);
  // The recovery point and the result are in the catalog (Drill.ts grants it).
  drill("PublishTheDrillAge", ["cloudwatch:PutMetricData"], ["*"], {
    StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE },
  });
  drill("PublishDrillMessages", ["sns:Publish"], [props.alerts.topic.topicArn]);
  drill("EncryptMessagesWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [props.alerts.key.keyArn]);
  if (props.clusterArn) drill("DescribeTheTargetCluster", ["eks:DescribeCluster"], [props.clusterArn]);
  // Object storage: read the source listing and replication, HEAD the replica.
  const storage = config.storage;
  if (storage && storage.buckets.length > 0) {
    const buckets = [...storage.buckets, ...storage.destinations.buckets];
    drill(
      "ReadTheSourceListingAndReplication",
      ["s3:ListBucket", "s3:GetReplicationConfiguration"],
      storage.buckets.map((b) => `arn:${partition}:s3:::${b}`),
    );
    const objects = buckets.map((b) => `arn:${partition}:s3:::${b}/*`);
    drill("HeadSampledObjects", ["s3:GetObject"], objects);
    acceptWildcards(
      stack,
      f.drill.fn,
      "The sample is any object of the configured source buckets and their replicas, chosen at run time; read only",
      objects,
    );
  }
  // Images: HEAD manifests in the target registry (read only).
  const registry = target?.registry;
  const ecr = registry ? ecrRegistry(registry) : undefined;
  if (registry && ecr && jobConfig.restore.images) {
    drill("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]);
    drill(
      "ReadTheApplicationImages",
      ["ecr:BatchGetImage"],
      jobConfig.restore.images.references.map(
        (r) =>
          `arn:${partition}:ecr:${ecr.region}:${account}:repository/${parseReference(`${registry}/${r}`).repository}`,
      ),
    );
  }
  acceptWildcards(
    stack,
    f.drill.fn,
    "Leftovers of earlier drills are found by listing the region's databases; describe only",
    anyDatabase,
  );
  acceptWildcards(
    stack,
    f.drill.fn,
    `Drill databases are named ${DRILL_DB_PREFIX}<drill id>, chosen at run time; changes also need the tool's tag`,
    scratch,
  );
  acceptWildcards(
    stack,
    f.database.fn,
    `Drill databases are named ${DRILL_DB_PREFIX}<drill id>; describe only`,
    scratch,
  );
  acceptWildcards(
    stack,
    f.drill.fn,
    "Any snapshot of the database may be the newest recovery point; it is only read",
    [rds("snapshot", "*"), rds("cluster-snapshot", "*")],
  );
  acceptWildcards(
    stack,
    f.drill.fn,
    `Drill secrets are named ${drillSecretPrefix(stack.stage)}<drill id> (tagged ${TAG_DRILL})`,
    [secrets],
  );
  acceptWildcards(
    stack,
    f.database.fn,
    `Drill secrets are named ${drillSecretPrefix(stack.stage)}<drill id>`,
    [secrets],
  );
  return f;
}
