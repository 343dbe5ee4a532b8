import { veleroJobConfig } from "@gitpod-dr/core/config/application";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { statement } from "./constructs/iam.ts";
import { ScheduledJob } from "./constructs/ScheduledJob.ts";
import { stageConfig } from "./context.ts";

/** The Kubernetes group deploy/rbac.yaml grants; the function's role is mapped to it. */
export const KUBERNETES_GROUP = "gitpod-dr";

/** The scheduled Velero backup of the EKS cluster (present when the stage configures `application`). */
export function Application({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const application = config.application;
  if (!application) return {};
  const region = config.regions.primary;
  const clusterName = application.cluster.name;
  const clusterArn = `arn:${stack.partition}:eks:${region}:${stack.account}:cluster/${clusterName}`;
  const catalog = catalogAccess(stack, app.stage, config);
  const jobConfig = veleroJobConfig(app.stage, config, catalog.config);

  const job = new ScheduledJob(stack, "VeleroBackup", {
    description: `Velero backup of EKS cluster ${clusterName}`,
    handler: "velero-backup",
    timeout: "2 minutes",
    memorySize: 512,
    config: jobConfig,
    schedule: application.schedule,
    scheduleDescription: "Velero backup job",
    // Idempotent per window (the Backup's name); a retry adopts what the first attempt created.
    retryAttempts: 1,
    alerts: use(Alerts),
    policy: [statement("DescribeTheCluster", ["eks:DescribeCluster"], [clusterArn])],
    // A private-endpoint cluster is reachable only from its VPC.
    vpc: application.vpc,
    // The cluster maps the function's role to the Kubernetes group that deploy/rbac.yaml grants.
    kubernetes: { clusterName, group: KUBERNETES_GROUP },
  });
  grantCatalog(stack, job, catalog);
  return { veleroBackupFunction: job.function };
}
