import type { Finding } from "./types.ts";

/**
 * S3 replication metrics (namespace AWS/S3, per rule) and the thresholds they are compared with, and the
 * namespace of the check's own metrics. Pure: the CloudWatch calls are in cloudwatch.ts, so the stacks
 * can read the namespace without an SDK client.
 */

/** The CloudWatch namespace of the S3 check's own metrics (the IAM condition of its PutMetricData). */
export { METRIC_NAMESPACE } from "../metrics.ts";

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
