/**
 * docs/messages.md: sample SNS messages, rendered by the real builders from what the real code paths
 * produce, so the README's samples cannot drift from what is published. The file is compared like the
 * template snapshot: this test fails when it differs; rewrite it with
 * `npx vitest run test/unit/notify/messages-doc.test.ts -u` and read the diff.
 *
 * To add a kind of message (the alarms' come next), add a sample in `samples()`; the Alarms heading is
 * a placeholder until then.
 */
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { buildFailureNotification, type Notification } from "../../../packages/core/src/notify/failure.ts";
import { runRdsSnapshotJob } from "../../../packages/core/src/rds/job.ts";
import { TAG_RESTORE_ID } from "../../../packages/core/src/restore/database.ts";
import type { SuccessState } from "../../../packages/core/src/restore/messages.ts";
import { notifyRestore } from "../../../packages/core/src/restore/notify.ts";
import { pointApplication } from "../../../packages/core/src/restore/point.ts";
import type { RestorePlan, RestoreRequest } from "../../../packages/core/src/restore/types.ts";
import {
  ago,
  foreign,
  gitpodInstance,
  jobConfig,
  rdsWorld,
  TIME,
} from "../../../packages/sim/src/rds/fake-rds.ts";
import {
  AUTH,
  deps as applicationDeps,
  config,
  kube,
  rejection,
  useApplicationWorld,
} from "../../../packages/sim/src/restore/application.ts";

useApplicationWorld();

const STAGE = "prod";
const ACCOUNT = "123456789012";
const PRIMARY = "eu-west-1";
const DR = "eu-central-1";
const RESTORE_ID = "drill-7";
const STARTED = "2026-11-26T10:00:00.000Z";
const at = (minutes: number, seconds = 0) =>
  new Date(Date.parse(STARTED) + minutes * 60_000 + seconds * 1000).toISOString();
const SNAPSHOT = "gitpod-dr-gitpod-2026-11-26-0300";
const DB_ID = "gitpod-dr-gitpod-r-drill-7";
const DB_HOST = `${DB_ID}.c0ffee.${DR}.rds.amazonaws.com`;
const REGISTRY = `${ACCOUNT}.dkr.ecr.${DR}.amazonaws.com`;
const KOTSADM = "http://kotsadm.gitpod.svc:3000";

const request: RestoreRequest = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: DR,
  tiers: ["database", "images", "application"],
  dryRun: false,
  allowPartialRestore: false,
  dbSnapshot: "latest",
  veleroBackup: "latest",
  executionStartedAt: STARTED,
  database: {
    kind: "instance",
    snapshot: {
      identifier: SNAPSHOT,
      arn: `arn:aws:rds:${DR}:${ACCOUNT}:snapshot:${SNAPSHOT}`,
      createdAt: "2026-11-26T03:00:00.000Z",
      encrypted: true,
    },
    identifier: DB_ID,
    adopt: false,
  },
};

const plan: RestorePlan = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: DR,
  tiers: request.tiers,
  database: {
    ...(request.database as NonNullable<RestoreRequest["database"]>),
    settings: {
      instanceClass: "db.r6g.large",
      subnetGroupName: "gitpod-db",
      securityGroupIds: ["sg-0fedcba9"],
    },
  },
  images: {
    registry: REGISTRY,
    items: [
      { reference: `${REGISTRY}/gitpod/server:2026.11.0` },
      { reference: `${REGISTRY}/gitpod/proxy:2026.11.0` },
    ],
  },
  application: {
    cluster: "gitpod-dr",
    veleroNamespace: "velero",
    backup: { name: "gitpod-dr-2026-11-26-0200", takenAt: "2026-11-26T02:00:04Z" },
    restoreName: "gitpod-dr-restore-drill-7",
    modifierName: "gitpod-dr-restore-drill-7-hold",
    adopt: false,
  },
  cluster: "gitpod-dr",
  endpoints: { bucket: { name: "gitpod-workspaces-replica", region: DR }, registry: REGISTRY },
  checked: [],
};

const context = { stage: STAGE, region: PRIMARY, now: new Date(at(23, 41)) };

interface Sample {
  readonly heading: string;
  /** What happened, and where the message comes from. */
  readonly about: string;
  readonly notification: Notification;
}

/** The RDS snapshot job refusing a same-named snapshot it did not make, as its handler reports it. */
async function jobFailure(): Promise<Sample> {
  const { primary, deps } = rdsWorld();
  primary.databases.push(gitpodInstance());
  primary.add("instance", foreign("gitpod-dr-gitpod-2026-11-26-0300", "gitpod", ago(0, 1)));
  const error = await rejection(
    runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig({ stage: STAGE }), deps),
  );
  const notification = buildFailureNotification(
    {
      job: "rds-snapshot",
      stage: STAGE,
      account: ACCOUNT,
      region: PRIMARY,
      functionName: "prod-gitpod-dr-Backups-RdsSnapshotFunction-4kQ2mN8pX1",
      requestId: "0b6e2c1d-5f3a-4e8b-9c7d-2a1f0e9d8c7b",
      logGroupName: "/aws/lambda/prod-gitpod-dr-Backups-RdsSnapshotFunction-4kQ2mN8pX1",
      logStreamName: "2026/11/26/[$LATEST]8f0c4b2a9e6d4c1b8a7f3e2d1c0b9a8f",
      time: new Date("2026-11-26T03:00:07.000Z"),
    },
    error,
  );
  return {
    heading: "A job failed: the RDS snapshot job",
    about:
      "Published by the job's handler (functions/lib/middleware.ts) when the invocation fails; here the window's snapshot name is taken by a snapshot gitpod-dr did not make.",
    notification,
  };
}

/** "Notify success" of a DR restore that pointed the application through KOTS. */
async function restoreSuccess(): Promise<Sample> {
  const state: SuccessState = {
    request,
    plan,
    tiers: {
      database: {
        identifier: DB_ID,
        endpoint: DB_HOST,
        port: 5432,
        startedAt: at(0, 12),
        finishedAt: at(14, 3),
      },
      images: [
        {
          reference: `${REGISTRY}/gitpod/server:2026.11.0`,
          status: "copied",
          startedAt: at(0, 10),
          finishedAt: at(1, 2),
        },
        {
          reference: `${REGISTRY}/gitpod/proxy:2026.11.0`,
          status: "present",
          startedAt: at(0, 10),
          finishedAt: at(0, 11),
        },
      ],
      application: {
        name: "gitpod-dr-restore-drill-7",
        backupName: "gitpod-dr-2026-11-26-0200",
        phase: "Completed",
        warnings: 2,
        errors: 0,
        startedAt: at(0, 15),
        finishedAt: at(6, 40),
      },
    },
    point: {
      mode: "kots",
      kotsAction: "posted",
      values: {
        db_host: DB_HOST,
        store_s3_bucket: "gitpod-workspaces-replica",
        store_region: DR,
        reg_url: REGISTRY,
      },
      replicationLag: [
        { bucket: "gitpod-workspace-backups", seconds: 180, precisionSeconds: 60, measuredAt: at(14, 0) },
      ],
      startedAt: at(14, 10),
    },
    pointed: { startedAt: at(14, 10), finishedAt: at(16, 30) },
    redeploy: {
      released: ["deployment/proxy", "deployment/server"],
      restarted: ["deployment/proxy", "deployment/server"],
      startedAt: at(16, 31),
    },
    rollout: { startedAt: at(16, 31), finishedAt: at(21, 2) },
    verify: {
      workloads: 2,
      health: { url: "https://gitpod.example.com/api/version", status: 200 },
      startedAt: at(21, 3),
      finishedAt: at(21, 9),
    },
  };
  const published: Notification[] = [];
  await notifyRestore({ kind: "success", state }, context, {
    publish: async (n) => {
      published.push(n);
      return "m-1";
    },
    rds: () => new RDSClient({ region: DR }),
    kube: async () => kube,
  });
  return {
    heading: "A restore succeeded",
    about: 'The state machine\'s "Notify success" (restore/notify.ts) at the end of a DR restore.',
    notification: published[0] as Notification,
  };
}

/**
 * "Notify failure" after Point application failed: the step's real error (kotsadm made the app version
 * but its strict preflights stopped the deploy), serialized as Lambda reports it to Step Functions, and
 * what the restore had created, looked up as the failure step does.
 */
async function restoreFailure(): Promise<Sample> {
  kube.workloads.statefulsets.push({
    metadata: { name: "kotsadm", namespace: "gitpod" },
    spec: { template: { spec: { containers: [{ name: "kotsadm", image: "kotsadm/kotsadm:v1.124.0" }] } } },
  });
  kube.secrets.set("gitpod/kotsadm-authstring", { "kotsadm-authstring": AUTH });
  const kotsadm: typeof fetch = async (_input, init) =>
    init?.method === "GET"
      ? Response.json({ versionHistory: [], totalCount: 0 })
      : Response.json({ success: false, error: "failed to deploy" }, { status: 500 });
  const cfg = config({ point: { kind: "kots", url: KOTSADM, appSlug: "gitpod", namespace: "gitpod" } });
  const error = await rejection(
    pointApplication(plan, { endpoint: DB_HOST, port: 5432 }, cfg, applicationDeps({ fetch: kotsadm })),
  );
  const cause = JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] });
  kube.put("restores", {
    apiVersion: "velero.io/v1",
    kind: "Restore",
    metadata: { name: "gitpod-dr-restore-drill-7", namespace: "velero" },
    status: { phase: "Completed" },
  });
  const rds = mockClient(RDSClient);
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: DB_ID,
        DBInstanceStatus: "available",
        TagList: [{ Key: TAG_RESTORE_ID, Value: RESTORE_ID }],
      },
    ],
  });
  const published: Notification[] = [];
  await notifyRestore(
    {
      kind: "failure",
      state: { request, plan, failed: { point: { Error: error.name, Cause: cause } } },
      executionName: RESTORE_ID,
      executionArn: `arn:aws:states:${PRIMARY}:${ACCOUNT}:execution:gitpod-dr-prod-restore:${RESTORE_ID}`,
      executionStartedAt: STARTED,
    },
    context,
    {
      publish: async (n) => {
        published.push(n);
        return "m-2";
      },
      rds: (region) => new RDSClient({ region }),
      kube: async () => kube,
    },
  );
  rds.restore();
  return {
    heading: "A restore failed",
    about:
      'The state machine\'s "Notify failure" (restore/notify.ts) after Point application failed: kotsadm created the app version, its strict preflights stopped the deploy.',
    notification: published[0] as Notification,
  };
}

/** Every sample, in the order of the file. Add a kind of message here (the alarms' replace the placeholder). */
async function samples(): Promise<Sample[]> {
  return [await jobFailure(), await restoreSuccess(), await restoreFailure()];
}

function render(list: readonly Sample[]): string {
  const parts = [
    "# Sample SNS messages",
    "",
    "What gitpod-dr publishes to the alerts topic, subject and body as sent. Generated from the real",
    "message builders by `test/unit/notify/messages-doc.test.ts`, which fails when this file differs:",
    "do not edit it by hand; rewrite it with `npx vitest run test/unit/notify/messages-doc.test.ts -u`.",
    "",
  ];
  for (const s of list) {
    parts.push(`## ${s.heading}`, "", s.about, "", `**Subject:** \`${s.notification.subject}\``, "");
    parts.push("```text", s.notification.message, "```", "");
  }
  parts.push("## Alarms", "", "(The CloudWatch alarm messages come here, rendered by the same test.)", "");
  return parts.join("\n");
}

describe("docs/messages.md", () => {
  it("holds the messages the builders produce now", async () => {
    const all = await samples();
    // The samples show real failures, not placeholders.
    expect(all[0]?.notification.subject).toBe("gitpod-dr [prod] rds-snapshot failed: SnapshotConflict");
    expect(all[2]?.notification.message).toContain(
      "kotsadm created the new app version but did not deploy it",
    );
    await expect(render(all)).toMatchFileSnapshot("../../../docs/messages.md");
  });
});
