import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import exampleConfig from "../../../config/example.ts";
import { parseStageConfig, restoreJobConfig } from "../../../packages/core/src/config.ts";
import { lambdaContextFor } from "../../../packages/sim/src/lambda.ts";

/** "Notify failure" when what failed is the cluster itself: the message still goes out, in time. */

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-alerts";
const sns = mockClient(SNSClient);
const rds = mockClient(RDSClient);
const eks = mockClient(EKSClient);

beforeEach(() => {
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv(
    "GITPOD_DR_CONFIG",
    JSON.stringify(restoreJobConfig("prod", "123456789012", parseStageConfig(exampleConfig))),
  );
  vi.stubEnv("AWS_REGION", "eu-west-1");
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  sns.reset();
  rds.reset();
  eks.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  rds
    .on(DescribeDBInstancesCommand)
    .rejects(new DBInstanceNotFoundFault({ message: "not found", $metadata: {} }));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe("restore-notify, failure", () => {
  it("publishes within its bound when the cluster never answers, saying what is unknown", async () => {
    // The EKS API of the lost region never answers.
    eks.on(DescribeClusterCommand).callsFake(() => new Promise(() => undefined));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.resetModules();
    const { handler } = await import("../../../packages/functions/src/restore-notify.ts");
    const request = {
      restoreId: "drill-9",
      target: "primary",
      region: "eu-west-1",
      tiers: ["database", "application"],
      dryRun: false,
      allowPartialRestore: false,
      dbSnapshot: "latest",
      veleroBackup: "latest",
      executionStartedAt: "2026-11-26T03:00:00.000Z",
      database: {
        kind: "instance",
        snapshot: {
          identifier: "gitpod-dr-gitpod-db-2026-11-26-0200",
          arn: "arn:aws:rds:eu-west-1:123456789012:snapshot:gitpod-dr-gitpod-db-2026-11-26-0200",
          encrypted: true,
        },
        identifier: "gitpod-dr-gitpod-db-r-drill-9",
        adopt: false,
      },
    };
    const plan = {
      restoreId: "drill-9",
      target: "primary",
      region: "eu-west-1",
      tiers: ["database", "application"],
      application: {
        cluster: "gitpod",
        veleroNamespace: "velero",
        backup: { name: "gitpod-dr-2026-11-26-0200" },
        restoreName: "gitpod-dr-restore-drill-9",
        modifierName: "gitpod-dr-restore-drill-9-hold",
        adopt: false,
      },
      endpoints: {},
      checked: [],
    };
    const event = {
      kind: "failure",
      state: {
        request,
        plan,
        failed: {
          checkApplication: {
            Error: "KubeApiError",
            Cause: JSON.stringify({ errorType: "KubeApiError", errorMessage: "connect ETIMEDOUT" }),
          },
        },
      },
      executionName: "drill-9",
      executionArn: "arn:aws:states:eu-west-1:123456789012:execution:gitpod-dr-prod-restore:drill-9",
      executionStartedAt: "2026-11-26T03:00:00.000Z",
    };

    const running = handler(event, lambdaContextFor("gitpod-dr-prod-RestoreNotify", { remainingMs: 60_000 }));
    await vi.advanceTimersByTimeAsync(20_000);
    const result = (await running) as { error: string; cause: string; messageId: string };

    expect(result).toMatchObject({ error: "KubeApiError", messageId: "m-1" });
    expect(result.cause).toBe("[notified] Check application restore: connect ETIMEDOUT");
    const published = sns.commandCalls(PublishCommand);
    expect(published).toHaveLength(1);
    const message = published[0]?.args[0].input.Message ?? "";
    expect(message).toContain('FAILED at "Check application restore"');
    expect(message).toContain("unknown: the look-up of what this restore created did not answer within 20 s");
    expect(message).toContain('"restoreId": "drill-9"');
  });
});
