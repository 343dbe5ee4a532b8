import { rdsJobConfig } from "@gitpod-dr/core/config/rds";
import { snapshotPrefix, TAG_SOURCE } from "@gitpod-dr/core/rds/naming";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "@gitpod-dr/core/tags";
import { Token } from "aws-cdk-lib";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { policy } from "./constructs/iam.ts";
import { resourcesOf } from "./constructs/nag.ts";
import { ScheduledJob } from "./constructs/ScheduledJob.ts";
import { stageConfig } from "./context.ts";

/** The scheduled backup jobs. For now: the RDS snapshot job. */
export function Backups({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const alerts = use(Alerts);
  const { primary, dr } = config.regions;
  const partition = stack.partition;
  const account = stack.account;
  const db = config.database.identifier;
  const kind = config.database.kind;
  const rdsArn = (region: string, type: string, name: string) =>
    `arn:${partition}:rds:${region}:${account}:${type}:${name}`;
  const prefix = `${snapshotPrefix(db)}*`;

  const { statements, allow } = policy();

  // Tags only as part of creating or copying one of ours: the request must carry the tool's tags, so
  // the role cannot tag somebody else's snapshot into one it may delete.
  const ownTags = {
    StringEquals: {
      [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE,
      [`aws:RequestTag/${TAG_SOURCE}`]: db,
    },
  };

  // The two RDS API families: the same statements, with each family's actions and ARN resource types.
  const families = [
    {
      use: kind !== "cluster",
      name: "Db",
      describe: "rds:DescribeDBInstances",
      database: "db",
      snapshot: "snapshot",
      action: (verb: string) => `rds:${verb}DBSnapshot`,
    },
    {
      use: kind !== "instance",
      name: "Cluster",
      describe: "rds:DescribeDBClusters",
      database: "cluster",
      snapshot: "cluster-snapshot",
      action: (verb: string) => `rds:${verb}DBClusterSnapshot`,
    },
  ];
  for (const f of families.filter((family) => family.use)) {
    const snapshots = [rdsArn(primary, f.snapshot, prefix), rdsArn(dr, f.snapshot, prefix)];
    allow(`Describe${f.name}TheDatabase`, [f.describe], [rdsArn(primary, f.database, db)]);
    // Listing every manual snapshot of a region (to page through them and to count copies in
    // progress, which need not be ours) names no snapshot: it stays on "*". A call that names none is
    // authorized against the resource type's wildcard (RDS reports DescribeDBInstances on "db:*"), so an
    // ARN could narrow it at best to every snapshot of the account and region, which is what the list
    // returns; that cannot be checked offline, and a wrong guess would stop the backups.
    allow(`List${f.name}ManualSnapshots`, [`${f.action("Describe")}s`], ["*"]);
    allow(
      `Create${f.name}Snapshots`,
      [f.action("Create")],
      [rdsArn(primary, f.database, db), snapshots[0] as string],
    );
    // A cross-region copy is authorized on both ends: the source (through the presigned URL) and the target.
    allow(`Copy${f.name}SnapshotsToTheDrRegion`, [f.action("Copy")], snapshots);
    allow(`Tag${f.name}SnapshotsItCreates`, ["rds:AddTagsToResource"], snapshots, ownTags);
    allow(`Delete${f.name}SnapshotsTaggedByGitpodDr`, [f.action("Delete")], snapshots, {
      StringEquals: {
        [`rds:${f.snapshot}-tag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE,
        [`rds:${f.snapshot}-tag/${TAG_SOURCE}`]: db,
      },
    });
  }
  // RDS uses the caller's grants to re-encrypt a copy with the DR key.
  const keys = [config.dr.kmsKeyArn, ...(config.database.kmsKeyArn ? [config.database.kmsKeyArn] : [])];
  allow("DescribeTheKeysOfCopies", ["kms:DescribeKey"], keys);
  // RDS creates the grant it needs on the caller's behalf; no grant for anything else.
  allow("LetRdsUseTheKeysForCopies", ["kms:CreateGrant"], keys, {
    Bool: { "kms:GrantIsForAWSResource": "true" },
  });
  const anyPrimaryKey = `arn:${partition}:kms:${primary}:${account}:key/*`;
  const drKeyAccount = config.dr.kmsKeyArn.split(":")[4];
  if (Token.isUnresolved(account) || drKeyAccount !== account) {
    // Only for a DR key in another account: the job asks KMS whether a snapshot's key is the AWS managed
    // key aws/rds (which cannot be shared across accounts). The snapshot's key is not known at deploy time.
    allow("RecogniseTheAwsManagedRdsKey", ["kms:DescribeKey"], [anyPrimaryKey]);
  }
  const catalog = catalogAccess(stack, app.stage, config);
  const job = new ScheduledJob(stack, "RdsSnapshot", {
    description: `RDS snapshot of ${db}, copies to ${dr}, retention`,
    handler: "rds-snapshot",
    timeout: "5 minutes",
    memorySize: 512,
    config: rdsJobConfig(app.stage, config, catalog.config),
    schedule: config.schedules.rdsSnapshot,
    scheduleDescription: "RDS snapshot job",
    // A failed invocation is retried once: the job is idempotent per window.
    retryAttempts: 1,
    alerts,
    policy: statements,
    wildcards: [
      {
        because: `Only snapshots named with the tool's prefix ${prefix}: every snapshot it creates is named so, per schedule window`,
        resources: resourcesOf(statements).filter((arn) => arn !== anyPrimaryKey),
      },
      {
        because:
          "kms:DescribeKey alone on the primary region's keys: a snapshot's key is known only at run time",
        resources: resourcesOf(statements).filter((arn) => arn === anyPrimaryKey),
      },
    ],
  });
  grantCatalog(stack, job, catalog);
  return { rdsSnapshotFunction: job.function };
}
