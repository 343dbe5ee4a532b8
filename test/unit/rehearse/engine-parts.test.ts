import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import exampleConfig from "../../../config/example.ts";
import { parseStageConfig, type StageConfigInput } from "../../../packages/core/src/config.ts";
import { firings } from "../../../packages/sim/src/rehearse/clock.ts";
import { FakeCloudWatch } from "../../../packages/sim/src/rehearse/cloudwatch.ts";
import { configFindings } from "../../../packages/sim/src/rehearse/findings.ts";

const T0 = new Date("2026-12-01T04:30:00Z");
const days = (n: number) => new Date(T0.getTime() + n * 86_400_000);

describe("the virtual clock's schedule", () => {
  it("fires a cron expression at its UTC minutes, a rate every interval from the start", () => {
    expect(firings("cron(0 3 * * ? *)", T0, days(3)).map((d) => d.toISOString())).toEqual([
      "2026-12-02T03:00:00.000Z",
      "2026-12-03T03:00:00.000Z",
      "2026-12-04T03:00:00.000Z",
    ]);
    expect(firings("rate(6 hours)", T0, days(1)).map((d) => d.toISOString())).toEqual([
      "2026-12-01T10:30:00.000Z",
      "2026-12-01T16:30:00.000Z",
      "2026-12-01T22:30:00.000Z",
    ]);
    expect(firings("rate(15 minutes)", T0, days(1))).toHaveLength(95);
  });

  it("honours named days of the week (2026-12-06 is a Sunday) and lists", () => {
    expect(firings("cron(0 4 ? * SUN *)", T0, days(7)).map((d) => d.toISOString())).toEqual([
      "2026-12-06T04:00:00.000Z",
    ]);
    expect(firings("cron(0/30 1,13 * * ? *)", T0, days(1)).map((d) => d.toISOString())).toEqual([
      "2026-12-01T13:00:00.000Z",
      "2026-12-01T13:30:00.000Z",
      "2026-12-02T01:00:00.000Z",
      "2026-12-02T01:30:00.000Z",
    ]);
  });
});

describe("the simulated CloudWatch alarm", () => {
  const alarm = {
    name: "gitpod-dr-x-rpo-database",
    region: "eu-central-1",
    namespace: "GitpodDR",
    metric: "RecoveryPointAge",
    dimensions: { Stage: "x", Tier: "database" },
    threshold: 3600,
    periodSeconds: 1800,
  };
  const put = (cw: FakeCloudWatch, at: Date, value: number) =>
    cw.client("eu-central-1").send(
      new PutMetricDataCommand({
        Namespace: "GitpodDR",
        MetricData: [
          {
            MetricName: "RecoveryPointAge",
            Timestamp: at,
            Value: value,
            Dimensions: [
              { Name: "Stage", Value: "x" },
              { Name: "Tier", Value: "database" },
            ],
          },
        ],
      }),
    );

  it("goes OK under the threshold, ALARM over it, and ALARM on missing data (breaching)", async () => {
    let now = new Date("2026-12-01T05:00:00Z");
    const cw = new FakeCloudWatch(() => now);
    cw.defineAlarm(alarm);
    await put(cw, now, 1200);
    expect(cw.evaluate().map((c) => [c.previous, c.state])).toEqual([["INSUFFICIENT_DATA", "OK"]]);
    now = new Date("2026-12-01T05:15:00Z");
    await put(cw, now, 4000);
    const [over] = cw.evaluate();
    expect(over?.state).toBe("ALARM");
    expect(over?.reason).toBe(
      "Threshold Crossed: 1 datapoint [4000.0 (01/12/26 05:15:00)] was greater than the threshold (3600.0).",
    );
    now = new Date("2026-12-01T06:00:00Z");
    await put(cw, now, 100);
    expect(cw.evaluate()[0]?.state).toBe("OK");
    now = new Date("2026-12-01T07:00:00Z");
    const [missing] = cw.evaluate();
    expect(missing?.state).toBe("ALARM");
    expect(missing?.reason).toContain("treated as [Breaching]");
  });
});

describe("configuration findings", () => {
  const example = exampleConfig as unknown as StageConfigInput;

  it("the example stage has no error finding", () => {
    expect(configFindings(parseStageConfig(example)).filter((f) => f.severity === "error")).toEqual([]);
  });

  it("a stage without a DR target cannot survive a region loss", () => {
    const restore = example.restore as NonNullable<StageConfigInput["restore"]>;
    const { dr: _dr, ...targets } = restore.targets;
    const config = parseStageConfig({ ...example, drill: undefined, restore: { ...restore, targets } });
    expect(configFindings(config)).toEqual([
      expect.objectContaining({ severity: "error", field: "restore.targets.dr" }),
    ]);
  });

  it("a database encrypted with a customer managed key, and a DR target that names no key", () => {
    const restore = example.restore as NonNullable<StageConfigInput["restore"]>;
    const dr = restore.targets.dr as NonNullable<typeof restore.targets.dr>;
    const { kmsKeyArn: _k, ...database } = dr.database;
    const config = parseStageConfig({
      ...example,
      database: {
        ...example.database,
        kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
      },
      drill: undefined,
      restore: { ...restore, targets: { ...restore.targets, dr: { ...dr, database } } },
    });
    expect(configFindings(config).map((f) => [f.severity, f.field])).toEqual([
      ["warning", "restore.targets.dr.database.kmsKeyArn"],
    ]);
  });
});
