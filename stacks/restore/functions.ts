import type { RestoreJobConfig } from "@gitpod-dr/core/config/restore";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { ecrRegistry, parseReference } from "@gitpod-dr/core/registry/reference";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "@gitpod-dr/core/tags";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Function as SstFunction, Stack } from "sst/constructs";
import { type Allow, statement } from "../constructs/iam.ts";
import { jobFunction, kubernetesAccess } from "../constructs/JobFunction.ts";
import { acceptWildcards } from "../constructs/nag.ts";

/** The Kubernetes group deploy/rbac-restore.yaml grants; the restore functions' roles map to it. */
export const RESTORE_KUBERNETES_GROUP = "gitpod-dr-restore";

/** A task function of the restore, with the timeout its Step Functions task allows for. */
export interface RestoreFunction {
  readonly fn: SstFunction;
  readonly timeoutSeconds: number;
}

export interface RestoreFunctions {
  readonly plan: RestoreFunction;
  readonly database: RestoreFunction;
  readonly image: RestoreFunction;
  readonly application: RestoreFunction;
  readonly notify: RestoreFunction;
}

/** A cluster the restore may target, when the stage configures that target. */
export interface RestoreCluster {
  readonly target: "primary" | "dr";
  readonly name: string;
  readonly region: string;
  readonly arn: string;
}

interface FunctionSpec {
  readonly id: string;
  readonly handler: string;
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memorySize?: number;
  /** Talks to the cluster (or kotsadm behind an internal address): placed in the stage's VPC, if any. */
  readonly inVpc?: boolean;
}

/** The task functions, in the order the templates list them. */
const SPECS: Record<keyof RestoreFunctions, FunctionSpec> = {
  plan: {
    id: "RestorePlan",
    handler: "restore-plan",
    description: "validate input and build the plan",
    timeoutSeconds: 120,
    inVpc: true,
  },
  database: {
    id: "RestoreDatabase",
    handler: "restore-database",
    description: "restore and check the database",
    timeoutSeconds: 60,
  },
  image: {
    id: "RestoreImage",
    handler: "restore-image",
    description: "ensure one image in the target registry",
    timeoutSeconds: 900,
    memorySize: 1024,
  },
  application: {
    id: "RestoreApplication",
    handler: "restore-application",
    description: "Velero restore, point, redeploy, verify",
    timeoutSeconds: 120,
    inVpc: true,
  },
  notify: {
    id: "RestoreNotify",
    handler: "restore-notify",
    description: "plan, success and failure messages",
    timeoutSeconds: 60,
    inVpc: true,
  },
};

export interface RestoreFunctionsProps {
  readonly config: StageConfig;
  readonly restore: NonNullable<StageConfig["restore"]>;
  readonly jobConfig: RestoreJobConfig;
  readonly clusters: readonly RestoreCluster[];
  readonly alerts: { readonly topic: sns.ITopic; readonly key: kms.IKey };
}

/**
 * The restore's task functions and their IAM: each function has what its steps call, no more. The
 * functions that talk to a cluster of this stack's region are mapped to the restore's Kubernetes group;
 * `kubeRoles` are their role ARNs, for the access entries of a cluster in the other region.
 */
export function restoreFunctions(
  stack: Stack,
  props: RestoreFunctionsProps,
): { functions: RestoreFunctions; kubeRoles: string[] } {
  const { config, jobConfig, clusters } = props;
  const make = (spec: FunctionSpec): RestoreFunction => ({
    fn: jobFunction(stack, spec.id, {
      description: `restore — ${spec.description}`,
      handler: spec.handler,
      timeout: spec.timeoutSeconds,
      memorySize: spec.memorySize ?? 512,
      logRetention: logs.RetentionDays.ONE_YEAR,
      config: jobConfig,
      topic: props.alerts.topic,
      vpc: spec.inVpc ? config.application?.vpc : undefined,
    }).fn,
    timeoutSeconds: spec.timeoutSeconds,
  });
  const functions: RestoreFunctions = {
    plan: make(SPECS.plan),
    database: make(SPECS.database),
    image: make(SPECS.image),
    application: make(SPECS.application),
    notify: make(SPECS.notify),
  };
  grantRestorePermissions(stack, functions, props);

  // The primary cluster maps the functions' roles to the restore group (deploy/rbac-restore.yaml). A
  // cluster in another region cannot be reached from this stack: its access entries are output as commands.
  const kubeRoles = [functions.plan, functions.application, functions.notify].map(
    (f) => (f.fn.role as iam.IRole).roleArn,
  );
  for (const c of clusters.filter((c) => c.region === stack.region)) {
    kubeRoles.forEach((principalArn, i) => {
      kubernetesAccess(stack, `RestoreAccessEntry${c.target}${i}`, {
        clusterName: c.name,
        principalArn,
        group: RESTORE_KUBERNETES_GROUP,
      });
    });
  }
  return { functions, kubeRoles };
}

function grantRestorePermissions(stack: Stack, functions: RestoreFunctions, props: RestoreFunctionsProps) {
  const { config, restore, jobConfig, clusters } = props;
  const { topic, key: topicKey } = props.alerts;
  const { partition, account } = stack;
  const regions = [config.regions.primary, config.regions.dr];
  const rdsArn = (region: string, type: string, name: string) =>
    `arn:${partition}:rds:${region}:${account}:${type}:${name}`;
  const inRegions = (type: string, name: string) => regions.map((r) => rdsArn(r, type, name));
  const allowTo =
    (f: RestoreFunction): Allow =>
    (...args) =>
      f.fn.addToRolePolicy(statement(...args));
  const plan = allowTo(functions.plan);
  const database = allowTo(functions.database);
  const image = allowTo(functions.image);
  const application = allowTo(functions.application);
  const notify = allowTo(functions.notify);
  const databases = [...inRegions("db", "*"), ...inRegions("cluster", "*")];
  const describeDatabases = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"];

  const subnetGroups = (["primary", "dr"] as const).flatMap((t) => {
    const target = restore.targets[t];
    const region = t === "primary" ? config.regions.primary : config.regions.dr;
    return target ? [rdsArn(region, "subgrp", target.database.subnetGroupName)] : [];
  });
  // Validate: snapshots, whether the target identifier is taken, the subnet group. Listing snapshots names
  // none (see Backups.ts on why rds:DescribeDB*Snapshots stay on "*"); "latest" lists them all.
  plan("ListSnapshots", ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"], ["*"]);
  plan("DescribeTargetDatabases", describeDatabases, databases);
  plan("DescribeSubnetGroups", ["rds:DescribeDBSubnetGroups"], subnetGroups);
  // EC2 Describe* actions support no resource-level permissions.
  plan("DescribeSecurityGroups", ["ec2:DescribeSecurityGroups"], ["*"]);
  // Build plan checks, before anything is created, that the configured parameter groups exist (and fit
  // the snapshot's engine) and that a configured target key is usable (core restore/database-target.ts).
  const configured = (["primary", "dr"] as const).flatMap((t) => {
    const target = restore.targets[t];
    return target
      ? [{ region: t === "primary" ? config.regions.primary : config.regions.dr, db: target.database }]
      : [];
  });
  const instanceGroups = configured.flatMap(({ region, db }) =>
    db.parameterGroupName ? [rdsArn(region, "pg", db.parameterGroupName)] : [],
  );
  const clusterGroups = configured.flatMap(({ region, db }) =>
    db.clusterParameterGroupName ? [rdsArn(region, "cluster-pg", db.clusterParameterGroupName)] : [],
  );
  if (instanceGroups.length > 0) {
    plan("DescribeTheConfiguredParameterGroups", ["rds:DescribeDBParameterGroups"], instanceGroups);
  }
  if (clusterGroups.length > 0) {
    plan(
      "DescribeTheConfiguredClusterParameterGroups",
      ["rds:DescribeDBClusterParameterGroups"],
      clusterGroups,
    );
  }
  const targetKeys = configured.flatMap(({ db }) => (db.kmsKeyArn ? [db.kmsKeyArn] : []));
  if (targetKeys.length > 0) plan("DescribeTheTargetKeys", ["kms:DescribeKey"], [...new Set(targetKeys)]);

  // Restore: only into new databases tagged as the tool's (the request must carry the tag).
  const ownTag = { StringEquals: { [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE } };
  // The groups a restored database gets: the target's configured parameter groups, or RDS's defaults
  // (default.<family>, default:<engine>-<version>: the family follows the snapshot's engine version).
  // No option group is configurable: RDS gives the restored database a default one.
  const parameterGroups = (["primary", "dr"] as const).flatMap((t) => {
    const target = restore.targets[t];
    const region = t === "primary" ? config.regions.primary : config.regions.dr;
    if (!target) return [];
    const { parameterGroupName, clusterParameterGroupName } = target.database;
    return [
      rdsArn(region, "pg", parameterGroupName ?? "default.*"),
      rdsArn(region, "cluster-pg", clusterParameterGroupName ?? "default.*"),
      rdsArn(region, "og", "default:*"),
    ];
  });
  const restoreActions = [
    "rds:RestoreDBInstanceFromDBSnapshot",
    "rds:RestoreDBClusterFromSnapshot",
    "rds:CreateDBInstance",
  ];
  database("RestoreIntoNewTaggedDatabases", [...restoreActions, "rds:AddTagsToResource"], databases, ownTag);
  const snapshots = [...inRegions("snapshot", "*"), ...inRegions("cluster-snapshot", "*")];
  database("RestoreFromSnapshotsIntoTheConfiguredNetwork", restoreActions, [
    ...snapshots,
    ...subnetGroups,
    ...parameterGroups,
  ]);
  database("DescribeRestoredDatabases", describeDatabases, databases);
  const keys = [
    config.database.kmsKeyArn,
    config.dr.kmsKeyArn,
    restore.targets.primary.database.kmsKeyArn,
    restore.targets.dr?.database.kmsKeyArn,
  ].filter((k): k is string => Boolean(k));
  if (keys.length > 0) {
    // Restoring an encrypted snapshot: RDS uses the key on the caller's behalf.
    database(
      "UseTheDatabaseKeysThroughRds",
      // Named, not kms:GenerateDataKey* / kms:ReEncrypt*: the key-pair variants are never used by RDS.
      [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
      ],
      [...new Set(keys)],
      { StringLike: { "kms:ViaService": regions.map((r) => `rds.${r}.amazonaws.com`) } },
    );
  }

  // Images: pull and push exactly the configured repositories in the targets' ECR registries.
  if (restore.images) {
    const repositoryArns = new Set<string>();
    for (const t of ["primary", "dr"] as const) {
      const registry = restore.targets[t]?.registry;
      const ecr = registry ? ecrRegistry(registry) : undefined;
      if (!registry || !ecr) continue;
      for (const ref of restore.images.references) {
        const repo = parseReference(`${registry}/${ref}`).repository;
        repositoryArns.add(`arn:${partition}:ecr:${ecr.region}:${ecr.account}:repository/${repo}`);
      }
    }
    image("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]);
    if (repositoryArns.size > 0) {
      image(
        "PullAndPushTheApplicationImages",
        [
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
          "ecr:BatchCheckLayerAvailability",
          "ecr:InitiateLayerUpload",
          "ecr:UploadLayerPart",
          "ecr:CompleteLayerUpload",
          "ecr:PutImage",
        ],
        [...repositoryArns],
      );
    }
    const secrets = Object.values(jobConfig.registrySecrets);
    if (secrets.length > 0) {
      const resources = secrets.flatMap((arn) => [arn, `${arn}-??????`]);
      image("ReadRegistryCredentials", ["secretsmanager:GetSecretValue"], resources);
    }
  }

  if (clusters.length > 0) {
    const clusterArns = clusters.map((c) => c.arn);
    for (const kube of [plan, application, notify]) {
      kube("DescribeTheClusters", ["eks:DescribeCluster"], clusterArns);
    }
  }
  // The S3 check's last verdict (replication lag); GetMetricData supports no resource-level permissions.
  application("ReadReplicationLag", ["cloudwatch:GetMetricData"], ["*"]);
  // Failure: what this restore already created is looked up, read-only.
  notify("DescribeRestoredDatabases", describeDatabases, databases);
  notify("PublishRestoreMessages", ["sns:Publish"], [topic.topicArn]);
  notify("EncryptMessagesWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [topicKey.keyArn]);

  const anyDatabase =
    "Any database name of the two regions: the target identifier is chosen at run time (targetDbIdentifier or the restoreId)";
  for (const f of [functions.plan, functions.notify]) {
    acceptWildcards(stack, f.fn, `${anyDatabase}; describe only`, databases);
  }
  acceptWildcards(
    stack,
    functions.database.fn,
    `${anyDatabase}; creating one needs the request to carry the tool's tag`,
    databases,
  );
  acceptWildcards(
    stack,
    functions.database.fn,
    "Any snapshot of the account may be restored from (the newest good one, or the one the operator names); it is only read",
    snapshots,
  );
  acceptWildcards(
    stack,
    functions.database.fn,
    "RDS's default parameter and option groups (default.<family>, default:<engine>-<version>), the family following the snapshot's engine version",
    parameterGroups,
  );
}
