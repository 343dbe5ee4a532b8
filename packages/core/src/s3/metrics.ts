import { type CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { wrapAwsError } from "../aws/errors.ts";
import type { Finding } from "./types.ts";

/**
 * S3 replication metrics (namespace AWS/S3, per rule) and the thresholds they are compared with; the
 * check's own metrics (namespace GitpodDR) and the replication lag the restore reads from them.
 */

/** The CloudWatch namespace of the S3 check's own metrics (the IAM condition of its PutMetricData). */
export const METRIC_NAMESPACE = "GitpodDR";

export interface MetricThresholds {
  /** Seconds (ReplicationLatency, maximum over the window). */
  readonly latencySeconds: number;
  readonly operationsPending: number;
  readonly bytesPending: number;
  readonly operationsFailed: number;
}

export interface RuleMetrics {
  readonly latencySeconds?: number;
  readonly operationsPending?: number;
  readonly bytesPending?: number;
  readonly operationsFailed?: number;
}

export const REPLICATION_METRICS = [
  { id: "latency", name: "ReplicationLatency", stat: "Maximum", key: "latencySeconds" },
  { id: "pendingops", name: "OperationsPendingReplication", stat: "Maximum", key: "operationsPending" },
  { id: "pendingbytes", name: "BytesPendingReplication", stat: "Maximum", key: "bytesPending" },
  { id: "failedops", name: "OperationsFailedReplication", stat: "Sum", key: "operationsFailed" },
] as const;

export function judgeMetrics(
  bucket: string,
  rule: string,
  metrics: RuleMetrics,
  limits: MetricThresholds,
): Finding[] {
  const findings: Finding[] = [];
  const over = (value: number | undefined, limit: number) => value !== undefined && value > limit;
  const finding = (severity: Finding["severity"], message: string) =>
    findings.push({ bucket, severity, check: "metric-threshold", rule, message });
  if (over(metrics.operationsFailed, limits.operationsFailed)) {
    finding(
      "failure",
      `Bucket ${bucket}, rule ${rule}: ${metrics.operationsFailed} replication operations failed in the last 30 minutes (threshold ${limits.operationsFailed}). Check the replication role and KMS keys`,
    );
  }
  if (over(metrics.latencySeconds, limits.latencySeconds)) {
    finding(
      "warning",
      `Bucket ${bucket}, rule ${rule}: replication latency reached ${metrics.latencySeconds} s (threshold ${limits.latencySeconds} s)`,
    );
  }
  if (over(metrics.operationsPending, limits.operationsPending)) {
    finding(
      "warning",
      `Bucket ${bucket}, rule ${rule}: ${metrics.operationsPending} operations pending replication (threshold ${limits.operationsPending})`,
    );
  }
  if (over(metrics.bytesPending, limits.bytesPending)) {
    finding(
      "warning",
      `Bucket ${bucket}, rule ${rule}: ${metrics.bytesPending} bytes pending replication (threshold ${limits.bytesPending})`,
    );
  }
  return findings;
}

export interface ReplicationLag {
  readonly bucket: string;
  /** Seconds between the last canary known to have replicated and now; undefined when none is on record. */
  readonly seconds?: number;
  readonly measuredAt?: string;
  /** Why the measurement could not be read (the lag is then unknown). */
  readonly error?: string;
}

/**
 * The object-storage tier's latest verdict: how long ago the last canary replicated, per bucket (the
 * S3 check's `SecondsSinceReplicatedCanary` metric plus the time since it was recorded). Never throws:
 * the lag is information for the operator, and not knowing it must not stop a restore.
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
            Period: 300,
            Stat: "Maximum",
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
        seconds: Math.round(value + (now.getTime() - at.getTime()) / 1000),
        measuredAt: at.toISOString(),
      };
    });
  } catch (error) {
    const wrapped = wrapAwsError("Unable to read the replication lag", error);
    return buckets.map((bucket) => ({ bucket, error: wrapped.message }));
  }
}
