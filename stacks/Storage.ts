import { storageJobConfig } from "@gitpod-dr/core/config/storage";
import { METRIC_NAMESPACE } from "@gitpod-dr/core/s3/metrics";
import * as iam from "aws-cdk-lib/aws-iam";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { policy } from "./constructs/iam.ts";
import { ScheduledJob } from "./constructs/ScheduledJob.ts";
import { stageConfig } from "./context.ts";

/** The scheduled S3 replication check (present when the stage configures `storage`). */
export function Storage({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const storage = config.storage;
  if (!storage) return {};
  const alerts = use(Alerts);
  const partition = stack.partition;
  const bucketArns = (names: readonly string[], prefixes: readonly string[]) => [
    ...names.map((n) => `arn:${partition}:s3:::${n}`),
    ...prefixes.map((p) => `arn:${partition}:s3:::${p}*`),
  ];
  const sources = bucketArns(storage.buckets, storage.bucketPrefixes);
  const destinations = bucketArns(storage.destinations.buckets, storage.destinations.bucketPrefixes);
  const canary = storage.canary.prefix;

  // S3 Batch Operations assumes this role to re-replicate a backlog (repair is opt-in).
  const batchRole = storage.repair.enabled
    ? new iam.Role(stack, "ReplicationRepairRole", {
        assumedBy: new iam.ServicePrincipal("batchoperations.s3.amazonaws.com"),
        description: `gitpod-dr ${app.stage}: S3 Batch Replication of the checked buckets`,
      })
    : undefined;
  if (batchRole) {
    batchRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "ReplicateObjectsOfTheCheckedBuckets",
        actions: ["s3:InitiateReplication"],
        resources: sources.map((arn) => `${arn}/*`),
      }),
    );
    batchRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "GenerateTheManifestFromTheBuckets",
        actions: ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
        resources: sources,
      }),
    );
  }

  const { statements, allow } = policy();
  allow(
    "AuditTheSourceBuckets",
    [
      "s3:GetReplicationConfiguration",
      "s3:GetBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketVersions",
    ],
    sources,
  );
  if (destinations.length > 0) {
    allow(
      "AuditTheDestinationBuckets",
      // s3:ListBucket: without it S3 answers a HEAD of a missing replica 403 instead of 404.
      ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket", "s3:ListBucketVersions"],
      destinations,
    );
  }
  allow(
    "ReadObjectsReplicationStatus",
    ["s3:GetObject", "s3:GetObjectVersion"],
    [...sources, ...destinations].map((arn) => `${arn}/*`),
  );
  allow(
    "WriteAndRemoveCanariesOnly",
    ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
    sources.map((arn) => `${arn}/${canary}*`),
  );
  if (destinations.length > 0) {
    allow(
      "RemoveReplicatedCanariesOnly",
      ["s3:DeleteObject", "s3:DeleteObjectVersion"],
      destinations.map((arn) => `${arn}/${canary}*`),
    );
  }
  if (storage.kmsKeyArns.length > 0) {
    // A canary in an SSE-KMS bucket is encrypted with the bucket's key on the caller's behalf.
    allow("EncryptCanariesWithTheBucketKeys", ["kms:GenerateDataKey"], storage.kmsKeyArns, {
      StringLike: { "kms:ViaService": "s3.*.amazonaws.com" },
    });
  }
  if (storage.bucketPrefixes.length > 0) {
    // Finding new per-user buckets: listing buckets has no resource level.
    allow("DiscoverBucketsByPrefix", ["s3:ListAllMyBuckets"], ["*"]);
  }
  // CloudWatch metric reads have no resource level; writes are held to our namespace.
  allow("ReadReplicationMetrics", ["cloudwatch:GetMetricData"], ["*"]);
  allow("PublishCanaryMetrics", ["cloudwatch:PutMetricData"], ["*"], {
    StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE },
  });
  if (batchRole) {
    allow("ListAndStartRepairJobs", ["s3:ListJobs", "s3:CreateJob"], ["*"]);
    allow(
      "DescribeRepairJobs",
      ["s3:DescribeJob"],
      [`arn:${partition}:s3:${config.regions.primary}:${stack.account}:job/*`],
    );
    allow("PassTheRepairRoleToBatchOperations", ["iam:PassRole"], [batchRole.roleArn], {
      StringEquals: { "iam:PassedToService": "batchoperations.s3.amazonaws.com" },
    });
  }
  const catalog = catalogAccess(stack, app.stage, config);
  const job = new ScheduledJob(stack, "S3Check", {
    description: "S3 replication health check",
    handler: "s3-check",
    timeout: "10 minutes",
    memorySize: 512,
    // Validated here and again at cold start.
    config: storageJobConfig(app.stage, stack.account, config, batchRole?.roleArn, catalog.config),
    schedule: storage.schedule,
    scheduleDescription: "S3 replication check",
    // The check only reads and writes canaries; a repair job's request token is per bucket and hour, so
    // a retry does not start a second one.
    retryAttempts: 1,
    alerts,
    policy: statements,
    wildcards: [
      {
        because:
          "The configured buckets and bucket prefixes (per-user buckets are found by prefix at run time), their objects, writes only under the canary prefix, and (repair) the account's Batch Operations jobs, whose ids are generated",
      },
    ],
  });
  grantCatalog(stack, job, catalog);
  return { s3CheckFunction: job.function };
}
