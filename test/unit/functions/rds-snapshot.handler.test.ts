import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from "@aws-sdk/client-rds";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContextFor, scheduledEventFor } from "../../../packages/sim/src/lambda.ts";

// The handler reads its environment once, at module load, as in Lambda.
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-alerts";
const CONFIG = {
  stage: "prod",
  database: { identifier: "gitpod-db", kind: "instance" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  drKmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13",
  retention: { keepLast: 3, maxAgeDays: 7 },
  drRetention: { keepLast: 3, maxAgeDays: 7 },
  manualSnapshotQuota: 100,
  maxConcurrentCopies: 5,
};

function setEnv(config: unknown = CONFIG) {
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv("GITPOD_DR_CONFIG", typeof config === "string" ? config : JSON.stringify(config));
  vi.stubEnv("AWS_REGION", "eu-west-1");
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
}

async function loadHandler() {
  vi.resetModules();
  const mod = await import("../../../packages/functions/src/rds-snapshot.ts");
  const { logger } = await import("../../../packages/functions/src/lib/logger.ts");
  return { handler: mod.handler, logger };
}

const lambdaContext = (remainingMs = 300_000) =>
  lambdaContextFor("gitpod-dr-prod-RdsSnapshot", {
    remainingMs,
    memoryMB: 512,
    requestId: "5f1c7a3e-1111-2222-3333-abcdefabcdef",
  });

const scheduledEvent = scheduledEventFor("gitpod-dr-rds", {
  id: "0d5b2c1e-aaaa-bbbb-cccc-000000000000",
  time: "2026-11-26T03:00:00Z",
});

const rds = mockClient(RDSClient);
const sns = mockClient(SNSClient);
const kms = mockClient(KMSClient);

function healthyDatabase() {
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: "gitpod-db",
        DBInstanceArn: "arn:aws:rds:eu-west-1:123456789012:db:gitpod-db",
        DBInstanceStatus: "available",
        Engine: "mysql",
      },
    ],
  });
  rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  rds.on(CreateDBSnapshotCommand).resolves({});
}

const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeEach(() => {
  rds.reset();
  sns.reset();
  kms.reset();
  kms.on(DescribeKeyCommand).rejects(new Error("not expected in these tests"));
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  setEnv();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

describe("rds-snapshot handler", () => {
  it("succeeds without publishing anything and returns the summary", async () => {
    const { handler } = await loadHandler();
    healthyDatabase();

    const summary = await handler(scheduledEvent, lambdaContext());

    expect(summary.created).toEqual(["gitpod-dr-gitpod-db-2026-11-26-0300"]);
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0]?.args[0].input.DBSnapshotIdentifier).toBe(
      "gitpod-dr-gitpod-db-2026-11-26-0300",
    );
    expect(published()).toEqual([]);
  });

  it("publishes exactly one actionable message on failure, without the secret, and re-throws", async () => {
    const { handler } = await loadHandler();
    healthyDatabase();
    const secret = "hunter2-Sup3rS3cret";
    const failure = Object.assign(
      new Error(`could not reach mysql://gitpod:${secret}@db.internal:3306 (password=${secret})`),
      { name: "InternalFailure", $metadata: { httpStatusCode: 500 } },
    );
    rds.on(DescribeDBInstancesCommand).rejects(failure);

    const error = await handler(scheduledEvent, lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    expect(error?.name).toBe("AwsCallFailed");
    const messages = published();
    expect(messages).toHaveLength(1);
    const { TopicArn, Subject, Message } = messages[0] ?? {};
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe("gitpod-dr [prod] rds-snapshot failed: AwsCallFailed");
    expect(Subject?.length).toBeLessThan(100);
    expect(Message).toContain('The gitpod-dr job "rds-snapshot" failed in stage "prod".');
    expect(Message).toContain("Error:      AwsCallFailed");
    expect(Message).toContain("Unable to describe DB instance gitpod-db");
    expect(Message).toContain("Account:    123456789012");
    expect(Message).toContain("Region:     eu-west-1");
    expect(Message).toContain("Request id: 5f1c7a3e-1111-2222-3333-abcdefabcdef");
    expect(Message).toContain(
      "Logs:       https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fgitpod-dr-prod-RdsSnapshot/log-events/2026$252F11$252F26$252F$255B$2524LATEST$255D0123456789abcdef",
    );
    expect(`${Subject}\n${Message}`).not.toContain(secret);
    // The re-thrown error is what Lambda's runtime writes to the log.
    expect(error?.message).toContain("Unable to describe DB instance gitpod-db");
    expect(error?.message).not.toContain(secret);
    expect(error?.stack).not.toContain(secret);
    expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  it("still throws the original error when publishing the notification fails, logs that and leaves the metric", async () => {
    const { handler, logger } = await loadHandler();
    const logged = vi.spyOn(logger, "error");
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    healthyDatabase();
    rds.on(DescribeDBInstancesCommand).rejects(
      Object.assign(new Error("User is not authorized"), {
        name: "AccessDenied",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    sns
      .on(PublishCommand)
      .rejects(
        Object.assign(new Error("topic gone"), { name: "NotFound", $metadata: { httpStatusCode: 404 } }),
      );

    vi.useFakeTimers({ now: new Date("2026-11-26T03:00:07Z"), toFake: ["Date"] });

    await expect(handler(scheduledEvent, lambdaContext())).rejects.toMatchObject({ name: "AwsAccessDenied" });
    stdout.mockRestore();

    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(logged.mock.calls.map((c) => c[0])).toContain("Unable to publish the failure notification");
    // One line of its own in the log, in CloudWatch's embedded metric format: the alarm's metric.
    const records = written.filter((line) => line.includes('"_aws"'));
    expect(records).toHaveLength(1);
    expect(records[0]?.endsWith("}\n")).toBe(true);
    expect(JSON.parse(records[0] as string)).toEqual({
      _aws: {
        Timestamp: Date.parse("2026-11-26T03:00:07Z"),
        CloudWatchMetrics: [
          {
            Namespace: "GitpodDR",
            Dimensions: [["Stage"], ["Stage", "Job"]],
            Metrics: [{ Name: "NotificationPublishFailed", Unit: "Count" }],
          },
        ],
      },
      Stage: "prod",
      Job: "rds-snapshot",
      NotificationPublishFailed: 1,
    });
  });

  it("leaves no publish-failure metric when the notification is published", async () => {
    const { handler } = await loadHandler();
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    rds.on(DescribeDBInstancesCommand).rejects(
      Object.assign(new Error("User is not authorized"), {
        name: "AccessDenied",
        $metadata: { httpStatusCode: 403 },
      }),
    );

    await expect(handler(scheduledEvent, lambdaContext())).rejects.toMatchObject({ name: "AwsAccessDenied" });
    stdout.mockRestore();

    expect(published()).toHaveLength(1);
    expect(written.filter((line) => line.includes("NotificationPublishFailed"))).toEqual([]);
  });

  it("rejects a mistyped manual input before touching RDS, and reports it once", async () => {
    const { handler } = await loadHandler();
    healthyDatabase();

    await expect(handler({ dry_run: true }, lambdaContext())).rejects.toMatchObject({
      name: "InvalidInput",
      message: expect.stringContaining("dry_run"),
    });

    expect(rds.calls()).toHaveLength(0);
    expect(published()).toHaveLength(1);
    expect(published()[0]?.Subject).toBe("gitpod-dr [prod] rds-snapshot failed: InvalidInput");
  });

  it("reports an invalid deployed configuration with the field's name", async () => {
    setEnv({ ...CONFIG, maxConcurrentCopies: 9 });
    const { handler } = await loadHandler();

    await expect(handler(scheduledEvent, lambdaContext())).rejects.toMatchObject({ name: "ConfigError" });

    expect(published()).toHaveLength(1);
    expect(published()[0]?.Message).toContain("maxConcurrentCopies");
    expect(rds.calls()).toHaveLength(0);
  });

  it("stops before Lambda's timeout and reports JobTimeout", async () => {
    const { handler } = await loadHandler();
    healthyDatabase();
    // RDS never answers; 10 s are kept back, so with 10.05 s left the handler gives up after 50 ms.
    rds.on(DescribeDBInstancesCommand).callsFake(() => new Promise(() => undefined));

    await expect(handler(scheduledEvent, lambdaContext(10_050))).rejects.toMatchObject({
      name: "JobTimeout",
    });

    expect(published()).toHaveLength(1);
    expect(published()[0]?.Message).toContain("Error:      JobTimeout");
  });
});
