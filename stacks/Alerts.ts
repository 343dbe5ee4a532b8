import { PUBLISH_FAILED_METRIC } from "@gitpod-dr/core/notify/metric";
import { METRIC_NAMESPACE } from "@gitpod-dr/core/s3/metrics";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { StackContext } from "sst/constructs";
import { stageAlarm, stageAlarmArns } from "./constructs/alarms.ts";
import { stageConfig } from "./context.ts";
import { restoreAlertRuleNames } from "./restore/alerts.ts";

/** The alerts topic every job reports failures to, encrypted with a key of its own. */
export function Alerts({ stack, app }: StackContext) {
  const config = stageConfig(app);

  const key = new kms.Key(stack, "AlertsKey", {
    description: `gitpod-dr ${app.stage}: encrypts the alerts topic`,
    enableKeyRotation: true,
    pendingWindow: Duration.days(30),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const topic = new sns.Topic(stack, "AlertsTopic", {
    displayName: `gitpod-dr ${app.stage} alerts`,
    masterKey: key,
    enforceSSL: true,
  });
  // The restore's EventBridge rules publish to the topic (executions that end without their own message).
  // EventBridge publishes as events.amazonaws.com, and SNS uses the key on its behalf: both grants hold
  // only for those rules (aws:SourceArn), so no other rule, in any account, can publish through them.
  // A stage without a restore has no such rule and grants nothing. The stage's alarms are granted below.
  if (config.restore) {
    const names = restoreAlertRuleNames(app.stage);
    const rules = Object.values(names).map(
      (name) => `arn:${stack.partition}:events:${stack.region}:${stack.account}:rule/${name}`,
    );
    const events = new iam.ServicePrincipal("events.amazonaws.com");
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowTheRestoreAlertRulesToPublishToTheAlertsTopic",
        principals: [events],
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: ["*"], // in a key policy, "*" means this key
        conditions: {
          ArnEquals: { "aws:SourceArn": rules },
          StringEquals: { "aws:SourceAccount": stack.account },
        },
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowTheRestoreAlertRulesToPublish",
        principals: [events],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: { ArnEquals: { "aws:SourceArn": rules } },
      }),
    );
  }
  // The stage's CloudWatch alarms (every function's Errors and Throttles, the dead-letter queues, the
  // failed-publish alarm below, the RPO alarms) send ALARM and OK here. CloudWatch publishes as
  // cloudwatch.amazonaws.com and SNS uses the key on its behalf: both grants hold only for alarms of this
  // account and region named gitpod-dr-<stage>-* (every alarm of the stage is named so, constructs/alarms.ts).
  const cloudwatchService = new iam.ServicePrincipal("cloudwatch.amazonaws.com");
  const fromTheStageAlarms = {
    ArnLike: { "aws:SourceArn": stageAlarmArns(stack) },
    StringEquals: { "aws:SourceAccount": stack.account },
  };
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowTheStageAlarmsToPublishToTheAlertsTopic",
      principals: [cloudwatchService],
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      resources: ["*"], // in a key policy, "*" means this key
      conditions: fromTheStageAlarms,
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowTheStageAlarmsToPublish",
      principals: [cloudwatchService],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: fromTheStageAlarms,
    }),
  );
  // A job whose failure notification could not be published leaves the metric (core notify/metric.ts,
  // written by the failure middleware in functions/lib/middleware.ts).
  // Through the same topic: when the topic or its key is what fails, the alarm still shows in the
  // console and on the dashboard; when it was the job's own role, the alarm reaches a person.
  stageAlarm(stack, "NotificationPublishFailedAlarm", {
    what: "notification-publish-failed",
    metric: new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: PUBLISH_FAILED_METRIC,
      dimensionsMap: { Stage: app.stage },
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
    }),
    description: `gitpod-dr ${app.stage}: a job failed AND its failure message could not be published to the alerts topic, so nobody was told what failed. Find the job in the metric's Job dimension (namespace ${METRIC_NAMESPACE}, ${PUBLISH_FAILED_METRIC}), then its log group: the lines "Job failed" (what failed) and "Unable to publish the failure notification" (why: the topic, its KMS key, the function's role). OK again after 5 minutes without one.`,
    topic,
  });

  for (const email of config.notifications.emails) {
    topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
  for (const url of config.notifications.httpsEndpoints) {
    topic.addSubscription(
      new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }),
    );
  }

  new CfnOutput(stack, "AlertsTopicArn", { value: topic.topicArn });
  return { topic, key };
}
