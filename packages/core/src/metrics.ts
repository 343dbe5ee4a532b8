/**
 * gitpod-dr's own CloudWatch metrics: one namespace for every job (the IAM condition of each job's
 * PutMetricData, and what the alarms and the dashboard read). Pure, so the stacks can import it.
 */
export const METRIC_NAMESPACE = "GitpodDR";

/**
 * The age of each tier's newest good copy, in seconds (the watchdog's), with dimensions `Stage` and
 * `Tier` (`database` | `objectStorage` | `images` | `application`), plus `Bucket` for each bucket of the
 * object-storage tier (at most MAX_BUCKET_METRICS buckets).
 */
export const RECOVERY_POINT_AGE = "RecoveryPointAge";

/** Buckets given a `RecoveryPointAge` of their own: a bounded number of metrics (and cost) per stage. */
export const MAX_BUCKET_METRICS = 20;
