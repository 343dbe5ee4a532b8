/** What the replication check reports. */

export type Severity = "failure" | "warning";

export type Check =
  | "discovery"
  | "versioning"
  | "replication-rule"
  | "coverage"
  | "destination"
  | "delete-markers"
  | "sse-kms"
  | "replication-time-control"
  | "replication-metrics"
  | "canary"
  | "metric-threshold"
  | "sampling"
  | "repair"
  | "access";

export interface Finding {
  readonly bucket: string;
  readonly severity: Severity;
  readonly check: Check;
  /** The replication rule the finding is about, when there is one. */
  readonly rule?: string;
  /** Names the bucket, the rule and what to change. */
  readonly message: string;
}

export type Health = "healthy" | "degraded" | "failed";

export function healthOf(findings: readonly Finding[]): Health {
  if (findings.some((f) => f.severity === "failure")) return "failed";
  return findings.length > 0 ? "degraded" : "healthy";
}
