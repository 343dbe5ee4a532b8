import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { canaryKey } from "../../../packages/core/src/s3/canary.ts";
import { lambdaContextFor, scheduledEventFor } from "../../../packages/sim/src/lambda.ts";
import {
  ACCOUNT,
  CANARY_PREFIX,
  DESTINATION,
  DR,
  FakeS3World,
  PRIMARY,
  SOURCE,
} from "../../../packages/sim/src/s3/fake-s3.ts";

const TOPIC = `arn:aws:sns:${PRIMARY}:${ACCOUNT}:gitpod-dr-alerts`;

const CONFIG = {
  stage: "prod",
  account: ACCOUNT,
  regions: { primary: PRIMARY, dr: DR },
  storage: {
    schedule: "rate(1 hour)",
    buckets: [SOURCE],
    destinations: { buckets: [DESTINATION] },
  },
};

function setEnv(config: unknown = CONFIG) {
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv("GITPOD_DR_CONFIG", JSON.stringify(config));
  vi.stubEnv("AWS_REGION", PRIMARY);
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
}

async function loadHandler() {
  vi.resetModules();
  const mod = await import("../../../packages/functions/src/s3-check.ts");
  return mod.handler;
}

const lambdaContext = (remainingMs = 600_000) =>
  lambdaContextFor("gitpod-dr-prod-S3Check", {
    remainingMs,
    memoryMB: 512,
    requestId: "5b2c1e0d-1111-2222-3333-abcdefabcdef",
  });

const scheduledEvent = scheduledEventFor("gitpod-dr-s3-check", {
  id: "0d5b2c1e-aaaa-bbbb-cccc-000000000000",
  time: "2026-11-26T03:00:00Z",
});

// The handler builds its own clients: the world serves every S3, CloudWatch and S3 Control client.
const sns = mockClient(SNSClient);
let world: FakeS3World;

const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeEach(() => {
  world = FakeS3World.classLevel();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  setEnv();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("s3-check handler", () => {
  it("publishes exactly one message naming the bucket when replication is stalled", async () => {
    // Prepare: an hourly run's canary from two hours ago never arrived.
    world.replicatingPair();
    const stalled = canaryKey(CANARY_PREFIX, new Date(Date.now() - 2 * 3_600_000), "abcdef");
    world.put(SOURCE, stalled, "{}");
    const handler = await loadHandler();

    // Act
    const error = await handler(scheduledEvent, lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    // Assess
    expect(error?.name).toBe("ReplicationUnhealthy");
    const messages = published();
    expect(messages).toHaveLength(1);
    const { TopicArn, Subject, Message } = messages[0] ?? {};
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe("gitpod-dr [prod] s3-check failed: ReplicationUnhealthy");
    expect(Message).toContain("S3 replication of stage prod is failing: 1 failure(s) in 1 bucket(s)");
    expect(Message).toContain(`Bucket ${SOURCE}: replication is stalled: canary ${stalled}`);
    // The run went on: this run's canary was written.
    expect(world.objects(SOURCE, CANARY_PREFIX)).toHaveLength(2);
  });

  it("publishes one message naming a bucket without replication configuration", async () => {
    world.bucket(SOURCE, { versioning: "Enabled" });
    const handler = await loadHandler();

    await expect(handler(scheduledEvent, lambdaContext())).rejects.toMatchObject({
      name: "ReplicationUnhealthy",
    });

    const messages = published();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Message).toContain(`Bucket ${SOURCE} has no replication configuration`);
  });

  it("rejects a mistyped manual input before any work, and reports it once", async () => {
    world.replicatingPair();
    const handler = await loadHandler();

    await expect(handler({ dry_run: true }, lambdaContext())).rejects.toMatchObject({
      name: "InvalidInput",
      message: expect.stringContaining("dry_run"),
    });

    expect(world.calls).toEqual([]);
    expect(published()).toHaveLength(1);
    expect(published()[0]?.Subject).toBe("gitpod-dr [prod] s3-check failed: InvalidInput");
  });

  it("reports an invalid configuration once, naming the field", async () => {
    setEnv({ ...CONFIG, account: "12345" });
    const handler = await loadHandler();

    await expect(handler(scheduledEvent, lambdaContext())).rejects.toMatchObject({ name: "ConfigError" });

    expect(published()).toHaveLength(1);
    expect(published()[0]?.Message).toContain("account: must be a 12-digit account id");
    expect(world.calls).toEqual([]);
  });

  it("returns the summary of a healthy run and publishes nothing", async () => {
    world.replicatingPair();
    const handler = await loadHandler();

    const summary = await handler(scheduledEvent, lambdaContext());

    expect(summary).toMatchObject({ stage: "prod", dryRun: false, health: "healthy", findings: [] });
    expect(summary.buckets.map((b) => b.bucket)).toEqual([SOURCE]);
    expect(world.objects(SOURCE, CANARY_PREFIX)).toHaveLength(1);
    expect(published()).toEqual([]);
  });

  it("runs a manual dry run without writing", async () => {
    world.replicatingPair();
    const handler = await loadHandler();

    const summary = await handler({ dryRun: true }, lambdaContext());

    expect(summary).toMatchObject({ dryRun: true, health: "healthy" });
    expect(world.count("PutObject")).toBe(0);
    expect(published()).toEqual([]);
  });
});
