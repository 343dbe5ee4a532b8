import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { StackContext } from "sst/constructs";
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
  // A stage without a restore has no such rule and grants nothing. An alarm added later is granted here
  // the same way, with its own ARN.
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
