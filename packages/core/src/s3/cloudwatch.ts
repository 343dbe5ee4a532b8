import {
  type CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { wrapAwsError } from "../aws/errors.ts";
import { METRIC_NAMESPACE, REPLICATION_METRICS, type RuleMetrics } from "./metrics.ts";

/**
 * The S3 tier's CloudWatch calls: the check reads S3's replication metrics of a rule (namespace AWS/S3)
 * and publishes how long ago each bucket's newest canary arrived (its own namespace, which the stage's
 * alarms read); the restore reads that back as the replication lag.
 */

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

export interface ReplicationLag {
  readonly bucket: string;
  /**
   * Seconds between the last canary known to have replicated and now, at most (never less than the
   * truth, by less than `precisionSeconds`); undefined when none is on record.
   */
  readonly seconds?: number;
  /** How much `seconds` may exceed the truth: CloudWatch keeps the measurement's time to the minute. */
  readonly precisionSeconds?: number;
  /** The start of the minute in which the S3 check measured it. */
  readonly measuredAt?: string;
  /** Why the measurement could not be read (the lag is then unknown). */
  readonly error?: string;
}

/**
 * CloudWatch's smallest period for a standard-resolution metric: it keeps each datapoint to the minute,
 * and stamps an aggregate with the start of its period.
 */
const LAG_PERIOD_SECONDS = 60;

/**
 * The object-storage tier's latest verdict: how long ago the last canary replicated, per bucket. The S3
 * check's `SecondsSinceReplicatedCanary` value v, measured at time t, says the newest replicated canary was
 * written at t − v; the lag now is v + (now − t). CloudWatch answers t only as the start s of the period
 * holding it (t in [s, s + period)), so the lag is taken as v + (now − s): never less than the truth, and
 * over it by less than one period. The period is CloudWatch's smallest for the metric (60 s; a 300 s one
 * overstated by up to 300 s), and the statistic the Minimum, the freshest of several checks in a minute.
 * Never throws: the lag is information for the operator, and not knowing it must not stop a restore.
 */
export async function replicationLag(
  cloudwatch: Pick<CloudWatchClient, "send">,
  buckets: readonly string[],
  now: Date,
): Promise<ReplicationLag[]> {
  if (buckets.length === 0) return [];
  try {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now.getTime() - 7 * 86_400_000),
        EndTime: now,
        ScanBy: "TimestampDescending",
        MetricDataQueries: buckets.map((bucket, i) => ({
          Id: `b${i}`,
          MetricStat: {
            Metric: {
              Namespace: METRIC_NAMESPACE,
              MetricName: "SecondsSinceReplicatedCanary",
              Dimensions: [{ Name: "Bucket", Value: bucket }],
            },
            Period: LAG_PERIOD_SECONDS,
            Stat: "Minimum",
          },
        })),
      }),
      // During a DR restore the primary region (where the check's metrics are) may not answer: the lag
      // is information for the operator and must not hold the restore up.
      { abortSignal: AbortSignal.timeout(10_000) },
    );
    return buckets.map((bucket, i) => {
      const r = out.MetricDataResults?.find((m) => m.Id === `b${i}`);
      const at = r?.Timestamps?.[0];
      const value = r?.Values?.[0];
      if (!at || value === undefined) return { bucket };
      return {
        bucket,
        seconds: Math.ceil(value + (now.getTime() - at.getTime()) / 1000),
        precisionSeconds: LAG_PERIOD_SECONDS,
        measuredAt: at.toISOString(),
      };
    });
  } catch (error) {
    const wrapped = wrapAwsError("Unable to read the replication lag", error);
    return buckets.map((bucket) => ({ bucket, error: wrapped.message }));
  }
}
