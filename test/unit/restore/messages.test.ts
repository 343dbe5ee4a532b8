import { describe, expect, it } from "vitest";
import {
  causeText,
  failedState,
  failureMessage,
  formatDuration,
  planMessage,
  type SuccessState,
  successMessage,
} from "../../../packages/core/src/restore/messages.ts";
import { STATES, TIER_FAILED } from "../../../packages/core/src/restore/states.ts";
import type { RestorePlan, RestoreRequest } from "../../../packages/core/src/restore/types.ts";

const STAGE = "prod";
const RESTORE_ID = "drill-7";
const EXECUTION_ARN = `arn:aws:states:eu-west-1:123456789012:execution:gitpod-dr-prod-restore:${RESTORE_ID}`;
const STARTED = "2026-11-26T10:00:00.000Z";
const NOW = new Date("2026-11-26T11:02:03.000Z");
const SNAPSHOT = "gitpod-dr-gitpod-2026-11-26-0300";

const request: RestoreRequest = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: "eu-central-1",
  tiers: ["database", "images", "application"],
  dryRun: true,
  allowPartialRestore: false,
  dbSnapshot: "latest",
  veleroBackup: "latest",
  executionStartedAt: STARTED,
  database: {
    kind: "instance",
    snapshot: {
      identifier: SNAPSHOT,
      arn: `arn:aws:rds:eu-central-1:123456789012:snapshot:${SNAPSHOT}`,
      createdAt: "2026-11-26T03:00:00.000Z",
      encrypted: true,
    },
    identifier: "gitpod-dr-gitpod-r-drill-7",
    adopt: false,
  },
};

const plan: RestorePlan = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: "eu-central-1",
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
    registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
    items: [
      { reference: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/gitpod/server:1" },
      { reference: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/gitpod/proxy:1" },
    ],
  },
  application: {
    cluster: "gitpod-dr",
    veleroNamespace: "velero",
    backup: { name: "gitpod-dr-2026-11-26-0200", takenAt: "2026-11-26T02:00:04Z" },
    restoreName: "gitpod-dr-restore-drill-7",
    modifierName: "gitpod-dr-restore-drill-7-hold",
    adopt: true,
  },
  cluster: "gitpod-dr",
  endpoints: {
    bucket: { name: "gitpod-workspaces-replica", region: "eu-central-1" },
    registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
  },
  checked: [
    "security groups sg-0fedcba9 exist in eu-central-1",
    "Velero storage location default in gitpod-dr is Available",
  ],
};

/** A Lambda error's Cause as Step Functions records it. */
const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, "    at handler (index.js:1:1)"],
  });

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [7_000, "7s"],
    [7_400, "7s"],
    [59_500, "1m 00s"],
    [245_000, "4m 05s"],
    [3_723_000, "1h 02m 03s"],
    [90_000_000, "25h 00m 00s"],
    [-5_000, "0s"],
  ])("%d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("planMessage", () => {
  it("says it is a dry run and lists what would be done, what was checked and how to start it", () => {
    const n = planMessage(request, plan, STAGE);

    expect(n.subject).toBe(`gitpod-dr ${STAGE}: restore ${RESTORE_ID} plan (dry run)`);
    expect(n.message).toContain(
      `Dry run of restore ${RESTORE_ID} (stage ${STAGE}) into the dr region eu-central-1. Nothing was changed.`,
    );
    expect(n.message).toContain(
      `  - Database: restore snapshot ${SNAPSHOT} (taken 2026-11-26T03:00:00.000Z) into DB instance gitpod-dr-gitpod-r-drill-7, class db.r6g.large, subnet group gitpod-db`,
    );
    expect(n.message).toContain(
      "  - Images: ensure 2 image(s) in 123456789012.dkr.ecr.eu-central-1.amazonaws.com",
    );
    expect(n.message).toContain(
      "  - Application: Velero restore gitpod-dr-restore-drill-7 from backup gitpod-dr-2026-11-26-0200 (taken 2026-11-26T02:00:04Z) in cluster gitpod-dr (exists from an earlier attempt: adopted)",
    );
    expect(n.message).toContain(
      "  - Then: point the application at the restored database, bucket gitpod-workspaces-replica (eu-central-1), registry 123456789012.dkr.ecr.eu-central-1.amazonaws.com; redeploy; verify",
    );
    for (const c of plan.checked) expect(n.message).toContain(`  - ${c}`);
    expect(n.message).toContain(`without "dryRun" (restoreId ${RESTORE_ID})`);
  });

  it("names the tiers that are not restored", () => {
    const { database: _d, images: _i, application: _a, ...bare } = plan;
    const n = planMessage(request, { ...bare, endpoints: {} }, STAGE);
    expect(n.message).toContain("  - Database: not restored");
    expect(n.message).toContain("  - Images: not restored");
    expect(n.message).toContain("  - Application: not restored");
    expect(n.message).not.toContain("Then: point");
  });
});

describe("successMessage", () => {
  const state: SuccessState = {
    request,
    plan,
    tiers: {
      database: {
        identifier: "gitpod-dr-gitpod-r-drill-7",
        endpoint: "gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com",
        port: 3306,
        startedAt: "2026-11-26T10:01:00.000Z",
        finishedAt: "2026-11-26T10:31:00.000Z",
      },
      images: [
        {
          reference: "a",
          status: "copied",
          startedAt: "2026-11-26T10:01:00.000Z",
          finishedAt: "2026-11-26T10:02:00.000Z",
        },
        {
          reference: "b",
          status: "present",
          startedAt: "2026-11-26T10:01:10.000Z",
          finishedAt: "2026-11-26T10:01:15.000Z",
        },
      ],
      application: {
        name: "gitpod-dr-restore-drill-7",
        backupName: "gitpod-dr-2026-11-26-0200",
        phase: "PartiallyFailed",
        warnings: 3,
        errors: 1,
        partial: true,
        startedAt: "2026-11-26T10:01:00.000Z",
        finishedAt: "2026-11-26T10:11:05.000Z",
      },
    },
    point: {
      mode: "kots",
      values: {
        db_host: "gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com",
        store_s3_bucket: "gitpod-workspaces-replica",
      },
      replicationLag: [
        { bucket: "gitpod-workspace-backups", seconds: 125, precisionSeconds: 60 },
        { bucket: "gitpod-user-x" },
      ],
      startedAt: "2026-11-26T10:32:00.000Z",
    },
    pointed: { startedAt: "2026-11-26T10:32:00.000Z", finishedAt: "2026-11-26T10:33:30.000Z" },
    redeploy: {
      released: ["deployment/proxy", "deployment/server"],
      restarted: ["deployment/server", "deployment/proxy"],
      startedAt: "2026-11-26T10:34:00.000Z",
    },
    rollout: { startedAt: "2026-11-26T10:34:00.000Z", finishedAt: "2026-11-26T10:40:00.000Z" },
    verify: {
      workloads: 2,
      health: { url: "https://gitpod.example.com/api/version", status: 200 },
      startedAt: "2026-11-26T10:41:00.000Z",
      finishedAt: "2026-11-26T10:41:02.000Z",
    },
  };

  it("does not claim workloads were verified when the restore had no cluster", () => {
    const n = successMessage(
      { ...state, verify: { workloads: 0, startedAt: "2026-11-26T10:41:00.000Z" } },
      STAGE,
      NOW,
    );
    expect(n.message).toContain("Verified: no application workload checked (this restore has no cluster).");
    expect(n.message).not.toContain("Verified: 0 workload(s)");
  });

  it("says which endpoints the Secret could not take, so the operator points them by hand", () => {
    const n = successMessage(
      {
        ...state,
        point: {
          mode: "secret",
          values: { host: "gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com" },
          notSet: [
            "bucket gitpod-workspaces-replica (eu-central-1)",
            "registry 123456789012.dkr.ecr.eu-central-1.amazonaws.com",
          ],
          startedAt: "2026-11-26T10:32:00.000Z",
        },
      },
      STAGE,
      NOW,
    );
    expect(n.message).toContain(
      'NOT pointed (restore.application.point is "secret", which sets the database only): bucket gitpod-workspaces-replica (eu-central-1), registry 123456789012.dkr.ecr.eu-central-1.amazonaws.com. Point the application at them yourself.',
    );
    expect(successMessage(state, STAGE, NOW).message).not.toContain("NOT pointed");
  });

  it.each([
    ["deployed", "app version 4, made by an earlier attempt, already held them (deployed); nothing posted"],
    [
      "awaitingPreflights",
      "app version 4, made by an earlier attempt, already held them; kotsadm deployed it after its strict preflights; nothing posted",
    ],
  ])(
    "a retried KOTS pointing that found its version (%s) says so: nothing was posted",
    (kotsAction, text) => {
      const point = { ...(state.point as NonNullable<SuccessState["point"]>), kotsAction, kotsSequence: 4 };
      const n = successMessage({ ...state, point }, STAGE, NOW);
      expect(n.message).toContain(`Pointed through the KOTS config (${text}). Values set: db_host=`);
    },
  );

  it("reports every tier, the pointing, the durations and the total", () => {
    const n = successMessage(state, STAGE, NOW);

    // The hold's Jobs and CronJobs stay suspended: the message says so, and how to resume one.
    expect(n.message).toContain(
      "Jobs and CronJobs of the application were restored suspended (part of the hold): resume the ones you need by hand",
    );
    expect(n.subject).toBe(`gitpod-dr ${STAGE}: restore ${RESTORE_ID} complete`);
    const lines = n.message.split("\n");
    expect(lines[0]).toBe(
      `Restore ${RESTORE_ID} (stage ${STAGE}) into the dr region eu-central-1 is complete.`,
    );
    expect(lines).toContain(
      `Database: gitpod-dr-gitpod-r-drill-7 restored from snapshot ${SNAPSHOT} (taken 2026-11-26T03:00:00.000Z).`,
    );
    expect(lines).toContain(
      "  New endpoint: gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com:3306",
    );
    expect(lines).toContain(
      "Images: 2 in 123456789012.dkr.ecr.eu-central-1.amazonaws.com (1 copied, 1 already present).",
    );
    expect(lines).toContain(
      "Application: Velero restore gitpod-dr-restore-drill-7 from backup gitpod-dr-2026-11-26-0200 ended PartiallyFailed (3 warning(s), 1 error(s)).",
    );
    expect(n.message).toContain("PartiallyFailed was accepted (allowPartialRestore)");
    expect(lines).toContain(
      "Pointed through the KOTS config (a new app version; KOTS redeployed). Values set: db_host=gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com, store_s3_bucket=gitpod-workspaces-replica",
    );
    expect(n.message).toContain(
      "gitpod-workspace-backups: the last canary known to have replicated was written at most 2m 05s ago (between 1m 05s and 2m 05s: CloudWatch keeps the S3 check's measurement to the minute)",
    );
    expect(n.message).toContain("gitpod-user-x: no replication measurement on record");
    expect(lines).toContain(
      "Redeployed: 2 workload(s) restarted, released from the hold: deployment/proxy, deployment/server.",
    );
    expect(n.message).not.toContain("scaled back");
    expect(lines).toContain(
      "Verified: 2 workload(s) available; https://gitpod.example.com/api/version answered 200.",
    );
    const durations = lines.slice(lines.indexOf("Durations:") + 1, lines.indexOf("Durations:") + 8);
    expect(durations).toEqual([
      `  - ${STATES.restoreDatabase}: 30m 00s`,
      `  - ${STATES.ensureImages}: 1m 00s`,
      `  - ${STATES.restoreApplication}: 10m 05s`,
      `  - ${STATES.point}: 1m 30s`,
      `  - ${STATES.redeploy}: 6m 00s`,
      `  - ${STATES.verify}: 2s`,
      "  - Total: 1h 02m 03s",
    ]);
  });

  it("names no release when Redeploy found nothing held (a rerun)", () => {
    const n = successMessage(
      { ...state, redeploy: { ...(state.redeploy as NonNullable<typeof state.redeploy>), released: [] } },
      STAGE,
      NOW,
    );
    expect(n.message.split("\n")).toContain("Redeployed: 2 workload(s) restarted.");
    expect(n.message).not.toContain("released from the hold");
  });

  it("leaves out skipped tiers", () => {
    const { images: _images, application: _application, ...databaseOnly } = plan;
    const n = successMessage(
      {
        request,
        plan: databaseOnly,
        tiers: {
          database: state.tiers.database as NonNullable<typeof state.tiers.database>,
          images: { skipped: true },
          application: { skipped: true, startedAt: STARTED },
        },
      },
      STAGE,
      NOW,
    );
    expect(n.message).toContain("Database: gitpod-dr-gitpod-r-drill-7 restored");
    expect(n.message).not.toContain("Images:");
    expect(n.message).not.toContain("Application:");
    expect(n.message).toContain("  - Total: 1h 02m 03s");
  });
});

describe("causeText", () => {
  it("reads a Lambda error's errorMessage, and leaves other causes as they are", () => {
    expect(causeText(lambdaCause("InvalidInput", "tiers: must name at least one tier"))).toBe(
      "tiers: must name at least one tier",
    );
    expect(causeText("The Lambda function timed out")).toBe("The Lambda function timed out");
    expect(causeText('{"other":1}')).toBe('{"other":1}');
    expect(causeText(undefined)).toBe("");
  });
});

describe("failedState", () => {
  const inner = {
    restoreDatabase: {
      Error: "DatabaseRestoreFailed",
      Cause: lambdaCause("DatabaseRestoreFailed", "the restored database is failed"),
    },
  };

  it("names the state a key stands for, its error and the cause's message", () => {
    expect(
      failedState({
        verify: { Error: "VerificationFailed", Cause: lambdaCause("VerificationFailed", "answered 503") },
      }),
    ).toEqual({
      state: STATES.verify,
      error: "VerificationFailed",
      cause: "answered 503",
    });
    expect(failedState(undefined)).toEqual({ state: "unknown", error: "Unknown", cause: "" });
  });

  it("unwraps a failed tier branch whose cause is the branch's failure as JSON", () => {
    const f = failedState({ tiers: { Error: TIER_FAILED, Cause: JSON.stringify(inner) } });
    expect(f).toEqual({
      state: STATES.restoreDatabase,
      error: "DatabaseRestoreFailed",
      cause: "the restored database is failed",
    });
  });

  it("unwraps a branch failure whose nested cause was not escaped (not valid JSON)", () => {
    const nested = lambdaCause("ImageUnavailable", "gitpod/server:1 is not in the target registry");
    const cause = `{"ensureImages":{"Error":"ImageUnavailable","Cause":"${nested}"}}`;
    expect(() => JSON.parse(cause)).toThrow();

    const f = failedState({ tiers: { Error: TIER_FAILED, Cause: cause } });

    expect(f).toEqual({
      state: STATES.ensureImages,
      error: "ImageUnavailable",
      cause: "gitpod/server:1 is not in the target registry",
    });
  });

  it("keeps a tier failure whose cause it cannot read as the tiers state", () => {
    expect(failedState({ tiers: { Error: TIER_FAILED, Cause: "garbled" } })).toEqual({
      state: STATES.tiers,
      error: TIER_FAILED,
      cause: "garbled",
    });
  });
});

describe("failureMessage", () => {
  const created = [
    "DB instance gitpod-dr-gitpod-r-drill-7 in eu-central-1 (creating, deletion protection on)",
    "Velero Restore velero/gitpod-dr-restore-drill-7 (InProgress) in cluster gitpod-dr",
  ];

  it("names the failed state, the error, the cause, what was created, how to resume and the console link", () => {
    const n = failureMessage(
      {
        failed: {
          tiers: {
            Error: TIER_FAILED,
            Cause: JSON.stringify({
              checkApplication: {
                Error: "ApplicationRestoreFailed",
                Cause: lambdaCause(
                  "ApplicationRestoreFailed",
                  "Velero restore gitpod-dr-restore-drill-7 ended Failed",
                ),
              },
            }),
          },
        },
        request,
        plan,
        executionName: "some-execution",
        executionArn: EXECUTION_ARN,
        executionStartedAt: STARTED,
      },
      created,
      STAGE,
      "eu-west-1",
      NOW,
    );

    expect(n.subject).toBe(`gitpod-dr ${STAGE}: restore ${RESTORE_ID} FAILED at ${STATES.checkApplication}`);
    const lines = n.message.split("\n");
    expect(lines[0]).toBe(`Restore ${RESTORE_ID} (stage ${STAGE}) FAILED at "${STATES.checkApplication}".`);
    expect(lines).toContain("Error: ApplicationRestoreFailed");
    expect(lines).toContain("Cause: Velero restore gitpod-dr-restore-drill-7 ended Failed");
    for (const c of created) expect(lines).toContain(`  - ${c}`);
    expect(n.message).toContain("nothing is deleted; it is adopted when you start again");
    expect(n.message).toContain(`"restoreId": "${RESTORE_ID}"`);
    expect(lines).toContain(
      `Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN}`,
    );
    expect(lines).toContain("Ran for 1h 02m 03s.");
    expect(n.error).toBe("ApplicationRestoreFailed");
    expect(n.cause).toBe(
      `[notified] ${STATES.checkApplication}: Velero restore gitpod-dr-restore-drill-7 ended Failed`,
    );
  });

  it("for invalid input: asks to fix the input, says nothing was created, and uses the execution name", () => {
    const n = failureMessage(
      {
        failed: {
          validate: {
            Error: "InvalidInput",
            Cause: lambdaCause("InvalidInput", "Invalid restore input: target: bad"),
          },
        },
        executionName: "exec-42",
      },
      [],
      STAGE,
      "eu-west-1",
      NOW,
    );
    expect(n.subject).toBe(`gitpod-dr ${STAGE}: restore exec-42 FAILED at ${STATES.validate}`);
    expect(n.message).toContain("Nothing had been created by this restore.");
    expect(n.message).toContain("Fix the input (every problem is listed above) and start the restore again.");
    expect(n.message).not.toContain("To resume");
    expect(n.message).not.toContain("Execution: https://");
    expect(n.message).not.toContain("Ran for");
  });

  it("redacts credentials in the cause from the message and the cause it returns", () => {
    const secret = "hunter2-s3cr3t";
    const n = failureMessage(
      {
        failed: {
          point: {
            Error: "PointApplicationFailed",
            Cause: lambdaCause(
              "PointApplicationFailed",
              `connect to postgres://gitpod:${secret}@db.internal:5432 failed; password=${secret}; Authorization: Bearer abcdefghijklmnop`,
            ),
          },
        },
        request,
        executionName: RESTORE_ID,
      },
      [],
      STAGE,
      "eu-west-1",
      NOW,
    );
    expect(n.message).not.toContain(secret);
    expect(n.cause).not.toContain(secret);
    expect(n.message).not.toContain("abcdefghijklmnop");
    expect(n.message).toContain("postgres://[REDACTED]@db.internal:5432");
    expect(n.message).toContain("password=[REDACTED]");
  });

  it("keeps the subject within SNS's 100 characters, in ASCII", () => {
    const longId = `r-${"x".repeat(78)}`;
    const n = failureMessage(
      { failed: { verify: { Error: "VerificationFailed" } }, executionName: longId },
      [],
      STAGE,
      "eu-west-1",
      NOW,
    );
    expect(n.subject.length).toBeLessThanOrEqual(99);
    expect(n.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(n.subject.endsWith(".")).toBe(true);
  });
});
