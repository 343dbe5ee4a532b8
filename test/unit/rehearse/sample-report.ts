import type { RehearsalReport } from "../../../packages/sim/src/rehearse/types.ts";

const START = Date.parse("2026-12-01T00:00:00Z");
const at = (hours: number) => new Date(START + hours * 3_600_000).toISOString();

/** A region-loss report as the engine would return it, with a message body an HTML page must escape. */
export function sampleReport(overrides: Partial<RehearsalReport> = {}): RehearsalReport {
  const backups: RehearsalReport["backups"][number][] = [];
  for (let day = 0; day < 3; day++) {
    backups.push({
      at: at(day * 24 + 3),
      tier: "database",
      label: `gitpod-dr-gitpod-db-2026-12-0${day + 1}-0300`,
      outcome: "ok",
    });
    backups.push({
      at: at(day * 24 + 2),
      tier: "application",
      label: `gitpod-dr-2026120${day + 1}-0200`,
      outcome: day === 1 ? "warning" : "ok",
    });
  }
  for (let h = 0; h < 72; h += 6)
    backups.push({ at: at(h), tier: "images", label: "3 images in sync", outcome: "ok" });
  for (let h = 0; h < 72; h++)
    backups.push({
      at: at(h),
      tier: "objectStorage",
      label: "replication checked, canary arrived",
      outcome: "ok",
    });
  return {
    scenario: "region-loss",
    verdict: "passed",
    expectation:
      'the primary region is lost: restore {"target":"dr"} brings every tier back in the DR region',
    reasons: [],
    config: {
      path: "config/example.ts",
      stage: "example",
      primaryRegion: "eu-west-1",
      drRegion: "eu-central-1",
    },
    clock: { start: at(0), disasterAt: at(70.5), end: at(71.25) },
    rpo: { database: 19_800, objectStorage: 1_800, images: 16_200, application: 23_400 },
    recoveryPoint: {
      recoveryTime: at(67),
      database: "gitpod-dr-gitpod-db-2026-12-03-0300",
      application: "gitpod-dr-20261203-0200",
      images: "sync 2026-12-03T18:00:00Z",
    },
    rto: {
      totalSeconds: 2_460,
      overheadSeconds: 150,
      steps: [
        { name: "Validate input", startSeconds: 0, endSeconds: 5, outcome: "ok" },
        { name: "Restore database", branch: "database", startSeconds: 5, endSeconds: 1_505, outcome: "ok" },
        {
          name: "Wait for database",
          branch: "database",
          startSeconds: 1_505,
          endSeconds: 2_310,
          outcome: "ok",
        },
        { name: "Ensure images", branch: "images", startSeconds: 5, endSeconds: 400, outcome: "ok" },
        { name: "Velero restore", branch: "application", startSeconds: 5, endSeconds: 900, outcome: "ok" },
        { name: "Notify", startSeconds: 2_310, endSeconds: 2_460, outcome: "ok" },
      ],
    },
    backups,
    messages: [
      {
        at: at(26),
        topicArn: "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-example-alerts",
        subject: "gitpod-dr example: Velero backup gitpod-dr-20261202-0200 PartiallyFailed",
        body: "Velero backup ended <PartiallyFailed> & 2 items failed: <script>alert(1)</script>",
      },
      {
        at: at(71.25),
        topicArn: "arn:aws:sns:eu-central-1:123456789012:gitpod-dr-example-alerts",
        subject: "gitpod-dr example: restore succeeded in 41m 00s",
        body: "Restored from recovery point 2026-12-03T19:00:00.000Z\ndatabase: gitpod-db (26 min)",
      },
    ],
    alarms: [
      {
        at: at(70.75),
        name: "gitpod-dr-example-rpo-database",
        state: "ALARM",
        reason: "RecoveryPointAge > 93600 for 1 datapoint",
      },
    ],
    findings: [],
    wallSeconds: 41.7,
    ...overrides,
  };
}
