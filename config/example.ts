/**
 * An example stage configuration. Copy it to config/<stage>.ts (the file name is the stage name), change
 * the values, and deploy with `npm run deploy -- --stage <stage>`. Every field is validated at synth time: a
 * bad value fails the deploy with the field's name and the reason, before anything reaches AWS.
 */
import type { StageConfigInput } from "../packages/core/src/config.ts";

export default {
  database: {
    // The Gitpod database: an RDS DB instance identifier or an Aurora DB cluster identifier.
    identifier: "gitpod-db",
    // "auto" (default) asks RDS which one the identifier names; "instance" or "cluster" skip the guess
    // and narrow the function's IAM policy to that API family.
    kind: "instance",
    // Optional: the customer managed KMS key (key ARN, primary region) that encrypts the database. The
    // job is granted use of it for cross-region copies. Leave out for aws/rds or an unencrypted database.
    // kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
  },
  regions: {
    // Where the database (and this app) runs. Deploy the stage to this region.
    primary: "eu-west-1",
    // Where snapshot copies are kept. Must differ from primary.
    dr: "eu-central-1",
  },
  dr: {
    // Customer managed KMS key in the DR region that encrypts the copies. A key ARN, not an alias.
    // If it belongs to another account, snapshots encrypted with aws/rds cannot be copied to it (the
    // job reports them by name).
    kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13",
  },
  retention: {
    // Always keep at least this many available snapshots (at least 1), however old.
    keepLast: 7,
    // Beyond keepLast, delete a snapshot once it is older than this many days.
    maxAgeDays: 14,
  },
  // Optional: retention in the DR region, when it should differ (defaults to `retention`).
  drRetention: { keepLast: 7, maxAgeDays: 30 },
  rds: {
    // The account's manual snapshot quota per region (RDS default 100); the job warns past 80%.
    manualSnapshotQuota: 100,
    // Cross-region copies in progress at once; RDS allows at most 5 per destination region.
    maxConcurrentCopies: 5,
  },
  schedules: {
    // EventBridge schedule expressions (UTC): cron(minutes hours day-of-month month day-of-week year)
    // or rate(<n> <unit>). The snapshot is named after the scheduled time: gitpod-dr-<db>-YYYY-MM-DD-HHMM.
    rdsSnapshot: "cron(0 3 * * ? *)",
  },
  // Optional: the object-storage tier (S3 replication health check). Leave it out for no check.
  storage: {
    schedule: "rate(1 hour)",
    // Buckets by name (each gets a canary every run) and by name prefix (Gitpod's per-user buckets,
    // discovered at every run; a rotating sample of them gets canaries).
    buckets: ["gitpod-workspace-backups"],
    bucketPrefixes: ["gitpod-user-"],
    // Destination buckets the check may read (for its IAM policy), by name or prefix.
    destinations: { buckets: ["gitpod-workspace-backups-dr"], bucketPrefixes: ["gitpod-user-dr-"] },
    canary: {
      prefix: ".gitpod-dr/canary/",
      stalledAfterMinutes: 60,
      keepMinutes: 1440,
      discoveredPerRun: 20,
    },
    // Require these of every replication rule ("any" accepts either setting).
    expect: { deleteMarkerReplication: "any", replicationTimeControl: false, replicationMetrics: false },
    // HEAD a random sample of objects from one listing page (calls do not grow with the bucket).
    sampling: { prefix: "", size: 20, listLimit: 1000 },
    // Re-replicate objects with no status or FAILED with S3 Batch Replication (costs per object).
    repair: { enabled: false },
  },
  // Optional: the application tier (Velero backups of the EKS cluster). Leave it out for no backup job.
  // Apply deploy/rbac.yaml to the cluster once; its authentication mode must include API (access entries).
  application: {
    cluster: { name: "gitpod" },
    // When the backup job runs (UTC). The Backup is named after the scheduled time: gitpod-dr-YYYY-MM-DD-HHMM.
    schedule: "cron(0 2 * * ? *)",
    velero: {
      // Velero's own namespace (never one of the application's), the storage location, retention.
      namespace: "velero",
      storageLocation: "default",
      ttl: "720h0m0s",
      includedNamespaces: ["gitpod"],
      // The file-system backup uploader of the installation: "kopia", or "restic" (Velero ≤ 1.16).
      fsBackupUploader: "kopia",
    },
    // KOTS snapshot annotations, so the Admin Console lists the backups: "auto" (when kotsadm runs in an
    // application namespace), "on" or "off".
    kots: "auto",
    // A backup still in progress after this many minutes is reported as stuck.
    stuckAfterMinutes: 240,
    // For a cluster with a private API endpoint, run the function in its VPC:
    // vpc: { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0123456789abcdef0"] },
  },
  // Optional: the image tier. Leave it out to deploy no image job.
  images: {
    // When the sync job runs (EventBridge expression, UTC).
    schedule: "rate(6 hours)",
    // Blob transfers in flight at once (default 6), and images copied at once (default 8).
    concurrency: 6,
    imageConcurrency: 8,
    // Credentials for registries that are not ECR (ECR uses the function's role). The secret holds
    // {"username": "...", "password": "..."} (a robot account or access token).
    registries: {
      // "ghcr.io": { credentialsSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ghcr-robot-AbCdEf" },
    },
    // Settings of destination ECR repositories the job creates (existing ones are left as they are).
    repositoryDefaults: { tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } },
    rules: [
      {
        // Gitpod's own images and workspace images: primary ECR to the DR region's ECR, same names.
        name: "gitpod-to-dr",
        source: { registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" },
        // Names, or prefixes ending in * (matched at every run, so new repositories are picked up).
        repositories: ["gitpod/*", "workspace-images/*"],
        // Whole-tag regular expressions, and "the newest N by push time" (ECR sources).
        tags: { exclude: "sha256-.*\\.sig", newest: 50 },
        destination: { registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com" },
      },
      {
        // A public base image, mirrored so workspaces start without Docker Hub.
        name: "workspace-base",
        source: { registry: "docker.io" },
        repositories: ["gitpod/workspace-full"],
        tags: { include: "latest|2026-.*" },
        destination: {
          registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
          repositoryPrefix: "mirror/",
        },
        // Multi-platform images are copied with every platform unless listed here.
        platforms: ["linux/amd64"],
      },
    ],
  },
  // Optional: the restore state machine (started by hand from the Step Functions console; see the
  // README's "Disaster recovery runbook"). Apply deploy/rbac-restore.yaml to every cluster it restores into.
  restore: {
    // The whole restore's limit.
    timeoutMinutes: 360,
    targets: {
      // Restoring in place (bad data, a lost database): the primary region.
      primary: {
        database: {
          instanceClass: "db.r6g.large",
          subnetGroupName: "gitpod-db",
          securityGroupIds: ["sg-0123456789abcdef0"],
        },
        registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
      },
      // The primary region lost: the DR region, with its own cluster, subnets, key, registry and the
      // replica bucket the application switches to.
      dr: {
        cluster: { name: "gitpod-dr" },
        database: {
          instanceClass: "db.r6g.large",
          subnetGroupName: "gitpod-db",
          securityGroupIds: ["sg-0fedcba9876543210"],
          kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        },
        registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
        bucket: { name: "gitpod-workspaces-replica", region: "eu-central-1" },
      },
    },
    database: { deadlineMinutes: 120, pollSeconds: 60 },
    application: {
      namespace: "gitpod",
      // Held back while restored (pods gated), until they point at the restored database. kotsadm
      // must not match: it applies the new configuration.
      holdSelector: { app: "gitpod" },
      // Gitpod's KOTS config through the kotsadm API, reached from the function (in the VPC above).
      point: {
        kind: "kots",
        url: "http://kotsadm.gitpod.internal:3000",
        appSlug: "gitpod",
        namespace: "gitpod",
      },
      restoreDeadlineMinutes: 60,
      rolloutDeadlineMinutes: 30,
      // healthUrl: "https://gitpod.example.com/api/version",
    },
    // The images the application needs, ensured in the target's registry (copied from the other if missing).
    images: {
      references: ["gitpod/server:2024.11.0", "gitpod/proxy:2024.11.0", "gitpod/ws-manager-mk2:2024.11.0"],
      concurrency: 4,
    },
  },
  // Optional: the recovery point objective per tier: how old each tier's newest good copy may get before
  // its alarm fires (durations: "50h", "90m", "1d2h"). A tier left out gets what its schedule delivers
  // plus 2h. The database and the application are finished by their job's NEXT run (a snapshot is copied
  // to the DR region, a Velero backup recorded, at the run after), so they deliver twice their schedule's
  // gap: a daily snapshot's DR copy is 24-48h old. A target shorter than the schedule can deliver is
  // rejected, and so is a target for a tier the stage does not configure. Here the database's target is
  // written out; the others get their defaults (objectStorage 3h, images 8h, application 50h with the
  // schedules above). A tighter database RPO needs a more frequent rdsSnapshot schedule.
  rpo: { database: "50h" },
  // Optional: the scheduled restore drill (README "Restore drills"). Restores the newest recovery point
  // into scratch resources named from the drill id (database gitpod-dr-drill-<id>, namespaces
  // gitpod-drill-<id>), checks it, and tears everything down. Needs the restore section above.
  drill: {
    // Weekly, Sunday 04:00 UTC (after the nightly backups).
    schedule: "cron(0 4 ? * SUN *)",
    // The DR region proves what a regional disaster would get back.
    target: "dr",
    // The whole drill's limit, teardown included (the database restore is most of it).
    deadlineMinutes: 240,
    // Keep the scratch resources this long after the checks (0: tear down at once).
    keepMinutes: 0,
    // Alarm when no drill has succeeded for this many days.
    maxAgeDays: 8,
    // The check function runs here and is the only client the scratch database admits.
    vpc: { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0a1b2c3d4e5f60718"] },
    // The scratch database's group: its only ingress rule admits the group above on the database port.
    database: { securityGroupIds: ["sg-0a1b2c3d4e5f60719"] },
    checks: {
      // Gitpod's tables (d_b_user, d_b_workspace, d_b_workspace_instance) are checked by default.
      database: {
        schema: "gitpod",
        rowCountRatio: { min: 0.9, max: 1.5 },
        maxStalenessHours: 26,
        sql: [{ name: "teams present", sql: "SELECT COUNT(*) FROM d_b_team", expect: { min: 1 } }],
      },
      objectStorage: { sampleSize: 20 },
    },
  },
  notifications: {
    // Who hears about failures. Email subscriptions must be confirmed from the email AWS sends.
    emails: ["platform-oncall@example.com"],
    // HTTPS endpoints (e.g. a chat webhook relay) subscribed to the topic.
    httpsEndpoints: [],
  },
} satisfies StageConfigInput;
