import {
  type CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { REPLICATION_METRICS, type RuleMetrics } from "./metrics.ts";

/**
 * The S3 check's CloudWatch calls: it reads S3's replication metrics of a rule (namespace AWS/S3) and
 * publishes how long ago each bucket's newest canary arrived (its own namespace, which the stage's
 * alarms and the restore's replication-lag check read).
 */

/** The namespace of the metrics gitpod-dr publishes. */
export const METRIC_NAMESPACE = "GitpodDR";

/**
 * The replication metrics of one rule over the last 30 minutes (a metric with no data is left out).
 * @throws the SDK's error, unwrapped (the bucket's check wraps it).
 */
export async function readRuleMetrics(
  cloudwatch: CloudWatchClient,
  rule: { readonly bucket: string; readonly destination: string; readonly ruleId: string },
  now: Date,
): Promise<RuleMetrics> {
  const out = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now.getTime() - 30 * 60_000),
      EndTime: now,
      MetricDataQueries: REPLICATION_METRICS.map((m) => ({
        Id: m.id,
        MetricStat: {
          Metric: {
            Namespace: "AWS/S3",
            MetricName: m.name,
            Dimensions: [
              { Name: "SourceBucket", Value: rule.bucket },
              { Name: "DestinationBucket", Value: rule.destination },
              { Name: "RuleId", Value: rule.ruleId },
            ],
          },
          Period: 300,
          Stat: m.stat,
        },
      })),
    }),
  );
  const metrics: Record<string, number> = {};
  for (const m of REPLICATION_METRICS) {
    const values = out.MetricDataResults?.find((r) => r.Id === m.id)?.Values ?? [];
    if (values.length > 0)
      metrics[m.key] = m.stat === "Sum" ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
  }
  return metrics as RuleMetrics;
}

/**
 * Publishes `SecondsSinceReplicatedCanary` per bucket (PutMetricData takes at most 500 values a call).
 * @throws the SDK's error, unwrapped: the run fails.
 */
export async function publishCanaryAges(
  cloudwatch: CloudWatchClient,
  ages: readonly { readonly bucket: string; readonly seconds: number }[],
  now: Date,
): Promise<void> {
  const data = ages.map((a) => ({
    MetricName: "SecondsSinceReplicatedCanary",
    Dimensions: [{ Name: "Bucket", Value: a.bucket }],
    Value: a.seconds,
    Unit: "Seconds" as const,
    Timestamp: now,
  }));
  for (let i = 0; i < data.length; i += 500) {
    await cloudwatch.send(
      new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: data.slice(i, i + 500) }),
    );
  }
}
