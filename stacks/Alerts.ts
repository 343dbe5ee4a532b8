import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { StackContext } from "sst/constructs";
import { stageConfig } from "./context.ts";

/** The alerts topic every job reports failures to, encrypted with a key of its own. */
export function Alerts({ stack, app }: StackContext) {
  const config = stageConfig(app);

  const key = new kms.Key(stack, "AlertsKey", {
    description: `gitpod-dr ${app.stage}: encrypts the alerts topic`,
    enableKeyRotation: true,
    pendingWindow: Duration.days(30),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // EventBridge rules and CloudWatch alarms publish to the topic too (execution-failure rule, RPO
  // alarms); an encrypted topic needs the key policy to let those services use the key.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowAwsServicesToPublishToTheAlertsTopic",
      principals: [
        new iam.ServicePrincipal("events.amazonaws.com"),
        new iam.ServicePrincipal("cloudwatch.amazonaws.com"),
      ],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"], // in a key policy, "*" means this key
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  );

  const topic = new sns.Topic(stack, "AlertsTopic", {
    displayName: `gitpod-dr ${app.stage} alerts`,
    masterKey: key,
    enforceSSL: true,
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
