import type { StageConfig } from "@gitpod-dr/core/config/stage";

const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10}h`;

/** Where a person looks first when a tier's copies get too old. */
function whatToCheck(tier: string, config: StageConfig): string {
  switch (tier) {
    case "database":
      return `the RDS snapshot job (function RdsSnapshot, schedule ${config.schedules.rdsSnapshot}) and its copies of ${config.database.identifier} to ${config.regions.dr}`;
    case "objectStorage":
      return `the S3 replication check (function S3Check, schedule ${config.storage?.schedule}) and replication of ${config.storage?.buckets.join(", ") || "the buckets"}`;
    case "images":
      return `the image sync (function ImageSync, schedule ${config.images?.schedule})`;
    default:
      return `the Velero backup job (function VeleroBackup, schedule ${config.application?.schedule}) and \`velero backup get\` on ${config.application?.cluster.name}`;
  }
}

/**
 * The RPO alarm's description: what the alarm message says to a person (CloudWatch puts it in the
 * message it publishes to the alerts topic). At most 1024 characters.
 */
export function rpoAlarmDescription(a: {
  stage: string;
  tier: string;
  targetMs: number;
  config: StageConfig;
}): string {
  return [
    `gitpod-dr ${a.stage}: the ${a.tier} tier's newest good copy is older than its RPO target of ${hours(a.targetMs)} (RecoveryPointAge, seconds), or the RPO watchdog published no age (missing data counts as breaching).`,
    `Check ${whatToCheck(a.tier, a.config)}: its last run and failure notifications on this topic; then the watchdog (function RpoWatchdog in ${a.config.regions.dr}) and its logs.`,
    `See every tier, the newest complete recovery point and what a restore would use: gitpod-dr status --config config/${a.stage}.ts`,
  ]
    .join(" ")
    .slice(0, 1024);
}
