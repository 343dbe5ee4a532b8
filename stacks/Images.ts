import { imageJobConfig, requireJobCredentials } from "@gitpod-dr/core/config/images";
import { ecrRegistry } from "@gitpod-dr/core/registry/reference";
import { destinationRepository, normalizeRepository } from "@gitpod-dr/core/registry/sync";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "@gitpod-dr/core/tags";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { type Allow, policy } from "./constructs/iam.ts";
import { ScheduledJob } from "./constructs/ScheduledJob.ts";
import { stageConfig } from "./context.ts";
import { imageSyncWorkflow } from "./images/workflow.ts";

const PULL = [
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
  "ecr:BatchCheckLayerAvailability",
  "ecr:DescribeImages",
];
const PUSH = [
  ...PULL,
  // Tag → digest of a destination repository, 1,000 a call: an unchanged image costs no registry request.
  "ecr:ListImages",
  "ecr:InitiateLayerUpload",
  "ecr:UploadLayerPart",
  "ecr:CompleteLayerUpload",
  "ecr:PutImage",
  "ecr:CreateRepository",
];

/** The destination repository names (or prefix patterns) a rule can write. */
export function destinationPatterns(rule: Parameters<typeof destinationRepository>[0]): string[] {
  const strip = rule.destination.stripPrefix ?? "";
  const prefix = rule.destination.repositoryPrefix ?? "";
  return rule.repositories.map((given) => {
    const pattern = normalizeRepository(rule.source.registry, given);
    if (!pattern.endsWith("*")) return destinationRepository(rule, pattern);
    const stem = pattern.slice(0, -1);
    // When the strip prefix may or may not apply to what the pattern matches, allow the whole prefix.
    if (strip !== "" && !stem.startsWith(strip)) return `${prefix}*`;
    return `${destinationRepository(rule, stem)}*`;
  });
}

/** The scheduled image sync (present when the stage configures `images`). */
export function Images({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const images = config.images;
  if (!images) return {};
  requireJobCredentials(images);
  const alerts = use(Alerts);
  const partition = stack.partition;
  const repositoryArn = (registry: string, name: string) => {
    const ecr = ecrRegistry(registry) as { account: string; region: string };
    return `arn:${partition}:ecr:${ecr.region}:${ecr.account}:repository/${name}`;
  };

  // Resource lists deduplicated and sorted: several rules may name the same repository.
  const { statements, allow: allowExactly } = policy();
  const allow: Allow = (sid, actions, resources, conditions) =>
    allowExactly(sid, actions, [...new Set(resources)].sort(), conditions);

  // The one ECR action with no resource: it returns a token for the caller's own registry.
  allow("GetEcrAuthorizationTokens", ["ecr:GetAuthorizationToken"], ["*"]);

  const pullArns: string[] = [];
  const pushArns: string[] = [];
  const discoveryArns: string[] = [];
  for (const rule of images.rules) {
    if (ecrRegistry(rule.source.registry)) {
      for (const pattern of rule.repositories) {
        pullArns.push(
          repositoryArn(rule.source.registry, normalizeRepository(rule.source.registry, pattern)),
        );
      }
      // Listing repositories to match a prefix names no repository: it is allowed on the registry's
      // repositories (names only; no image access comes with it).
      if (rule.repositories.some((r) => r.endsWith("*"))) {
        discoveryArns.push(repositoryArn(rule.source.registry, "*"));
      }
    }
    if (ecrRegistry(rule.destination.registry)) {
      for (const pattern of destinationPatterns(rule))
        pushArns.push(repositoryArn(rule.destination.registry, pattern));
    }
  }
  if (pullArns.length > 0) allow("PullFromSourceRepositories", PULL, pullArns);
  if (discoveryArns.length > 0) allow("ListSourceRepositories", ["ecr:DescribeRepositories"], discoveryArns);
  if (pushArns.length > 0) {
    allow("PushToDestinationRepositories", PUSH, pushArns);
    // Only as part of creating a repository: the tool tags the repositories it creates.
    allow("TagRepositoriesItCreates", ["ecr:TagResource"], pushArns, {
      StringEquals: { [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE },
      "ForAllValues:StringEquals": { "aws:TagKeys": [TAG_CREATED_BY] },
    });
  }
  const encryption = images.repositoryDefaults.encryption;
  if (encryption.type === "KMS" && encryption.kmsKeyArn) {
    // ECR creates grants on the key for a repository it encrypts with it.
    allow(
      "EncryptCreatedRepositoriesWithTheKey",
      ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"],
      [encryption.kmsKeyArn],
    );
  }
  const secretArns = Object.values(images.registries).map((r) => r.credentialsSecretArn);
  if (secretArns.length > 0) {
    // An ARN given without Secrets Manager's random suffix matches the real one only with the suffix
    // wildcard; whether a given ARN ends in the suffix cannot be told from its text, so grant both.
    const resources = secretArns.flatMap((arn) => [arn, `${arn}-??????`]);
    allow("ReadRegistryCredentials", ["secretsmanager:GetSecretValue"], resources);
  }
  const catalog = catalogAccess(stack, app.stage, config);
  const wildcardReason =
    "Repositories under the configured prefixes (matched at every run, so new ones are synced); repository/* only to list names";
  if (images.fanOut) {
    // Big registries: the workflow (README, "Fan-out") instead of the one function.
    const workflow = imageSyncWorkflow(stack, {
      config: imageJobConfig(app.stage, images),
      catalog,
      fanOut: images.fanOut,
      schedule: images.schedule,
      alerts,
      registryPolicy: statements,
      wildcardReason,
    });
    return { imageSyncMachine: workflow.machine };
  }
  const job = new ScheduledJob(stack, "ImageSync", {
    description: "copy container images to the DR registry",
    handler: "image-sync",
    // Lambda's maximum: the job stops starting copies two minutes before it and reports the rest.
    timeout: "15 minutes",
    // Network throughput of a Lambda function grows with its memory; the copy itself needs ~100 MB.
    memorySize: 1024,
    config: imageJobConfig(app.stage, images, catalog.config),
    schedule: images.schedule,
    scheduleDescription: "image sync job",
    // Overlapping runs are safe: a blob or manifest already present is skipped.
    retryAttempts: 0,
    alerts,
    policy: statements,
    wildcards: [{ because: wildcardReason }],
  });
  grantCatalog(stack, job, catalog);
  return { imageSyncFunction: job.function, imageSyncLogGroup: job.logGroup };
}
