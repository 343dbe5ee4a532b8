import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { publishCanaryAges, replicationLag } from "../../../packages/core/src/s3/cloudwatch.ts";

/**
 * CloudWatch as it answers GetMetricData for a standard-resolution metric: the datapoints PutMetricData
 * stored, aggregated per `Period` with the asked statistic, each result stamped with the START of its
 * period (CloudWatch User Guide, "Statistics" and "Periods"), newest first with TimestampDescending.
 */
function cloudwatchModel() {
  const client = new CloudWatchClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
  });
  const mock = mockClient(client);
  const stored: { bucket: string; at: Date; value: number }[] = [];
  mock.on(PutMetricDataCommand).callsFake((input) => {
    for (const d of input.MetricData ?? []) {
      stored.push({
        bucket: d.Dimensions?.[0]?.Value ?? "",
        at: d.Timestamp as Date,
        value: d.Value as number,
      });
    }
    return {};
  });
  mock.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
    MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
      const stat = q.MetricStat;
      const bucket = stat?.Metric?.Dimensions?.[0]?.Value;
      const period = (stat?.Period ?? 60) * 1000;
      // Standard resolution: CloudWatch keeps a datapoint to the minute.
      if (period < 60_000) throw new Error("a period under 60 s needs a high-resolution metric");
      const groups = new Map<number, number[]>();
      for (const d of stored.filter((s) => s.bucket === bucket)) {
        const start = Math.floor(d.at.getTime() / period) * period;
        groups.set(start, [...(groups.get(start) ?? []), d.value]);
      }
      const starts = [...groups.keys()].sort((a, b) => b - a);
      const aggregate = (values: number[]) =>
        stat?.Stat === "Minimum" ? Math.min(...values) : stat?.Stat === "Maximum" ? Math.max(...values) : NaN;
      return {
        Id: q.Id,
        Timestamps: starts.map((s) => new Date(s)),
        Values: starts.map((s) => aggregate(groups.get(s) ?? [])),
      };
    }),
  }));
  return { client, mock };
}

const mocks: ReturnType<typeof mockClient>[] = [];
afterEach(() => {
  for (const m of mocks.splice(0)) m.restore();
});

describe("replicationLag", () => {
  it("is the metric's value plus the time since it was MEASURED, not since its period began, within the stated precision", async () => {
    const cw = cloudwatchModel();
    mocks.push(cw.mock);
    // The S3 check ran at 10:03:40 and found the newest replicated canary written 60 s before (10:02:40).
    await publishCanaryAges(
      cw.client,
      [{ bucket: "gitpod-workspaces", seconds: 60 }],
      new Date("2026-11-26T10:03:40Z"),
    );
    const now = new Date("2026-11-26T10:05:00Z");
    const truth = (now.getTime() - Date.parse("2026-11-26T10:02:40Z")) / 1000;

    const [lag] = await replicationLag(cw.client, ["gitpod-workspaces"], now);

    // Never less than the truth (a DR restore must not understate what may be missing), and over it by
    // less than the stated precision (it was 360 s for these 140 s: a 300 s period's start).
    expect(truth).toBe(140);
    expect(lag?.precisionSeconds).toBe(60);
    expect(lag?.seconds).toBeGreaterThanOrEqual(truth);
    expect((lag?.seconds ?? Number.POSITIVE_INFINITY) - truth).toBeLessThan(lag?.precisionSeconds ?? 0);
  });

  it("two checks within one minute: the fresher measurement counts", async () => {
    const cw = cloudwatchModel();
    mocks.push(cw.mock);
    // 10:03:05: the newest canary was 290 s old; 10:03:50: a newer one had arrived, 10 s old.
    await publishCanaryAges(cw.client, [{ bucket: "b", seconds: 290 }], new Date("2026-11-26T10:03:05Z"));
    await publishCanaryAges(cw.client, [{ bucket: "b", seconds: 10 }], new Date("2026-11-26T10:03:50Z"));
    const now = new Date("2026-11-26T10:04:00Z");

    const [lag] = await replicationLag(cw.client, ["b"], now);

    // Truth: 20 s (written 10:03:40). Upper bound from the minute 10:03: 10 + 60.
    expect(lag).toMatchObject({
      bucket: "b",
      seconds: 70,
      precisionSeconds: 60,
      measuredAt: "2026-11-26T10:03:00.000Z",
    });
  });
});
