import { METRIC_NAMESPACE } from "../s3/metrics.ts";

/** The metric a failure notification that could not be published leaves; the Alerts stack alarms on it. */
export const PUBLISH_FAILED_METRIC = "NotificationPublishFailed";

/**
 * One record in CloudWatch's embedded metric format (EMF) saying that a job's failure notification could
 * not be published: `NotificationPublishFailed` = 1 in {@link METRIC_NAMESPACE}, by `Stage` (what the
 * alarm reads) and by `Stage` and `Job` (which job). Written as a line of its own to the function's log,
 * it becomes the metric without an API call and without IAM, so it works when the failure is the
 * function's permissions or the network. Pure: the caller writes it.
 */
export function publishFailedRecord(stage: string, job: string, time: Date): string {
  return JSON.stringify({
    _aws: {
      Timestamp: time.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [["Stage"], ["Stage", "Job"]],
          Metrics: [{ Name: PUBLISH_FAILED_METRIC, Unit: "Count" }],
        },
      ],
    },
    Stage: stage,
    Job: job,
    [PUBLISH_FAILED_METRIC]: 1,
  });
}
