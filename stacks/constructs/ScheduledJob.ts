import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Function as SstFunction, Stack } from "sst/constructs";
import { deadLetterQueue, kebab } from "./alarms.ts";
import { statement } from "./iam.ts";
import { type JobFunctionProps, jobFunction, kubernetesAccess, type VpcPlacement } from "./JobFunction.ts";
import { acceptWildcards, resourcesOf } from "./nag.ts";

export interface ScheduledJobProps {
  /** What the job does; the function's description after `gitpod-dr <stage>: `. */
  readonly description: string;
  /** The handler module's name in packages/functions/src, e.g. `rds-snapshot`. */
  readonly handler: string;
  readonly timeout: JobFunctionProps["timeout"];
  readonly memorySize: number;
  /** The job's run-time configuration (GITPOD_DR_CONFIG). */
  readonly config: unknown;
  /** The EventBridge schedule expression, `cron(...)` or `rate(...)`. */
  readonly schedule: string;
  /** The rule's description after `gitpod-dr <stage>: `. */
  readonly scheduleDescription: string;
  /** Lambda's retries of a failed asynchronous invocation; each failed attempt notifies on its own. */
  readonly retryAttempts: number;
  /** The stage's alerts topic and its key: the job reports failures there. */
  readonly alerts: { readonly topic: sns.ITopic; readonly key: kms.IKey };
  /** What the job's role may do for its tier; the grants to report failures are added after these. */
  readonly policy: readonly iam.PolicyStatement[];
  /**
   * Why the wildcard ARNs of `policy` are acceptable (cdk-nag AwsSolutions-IAM5), each for the ARNs it
   * names (default: every ARN of the policy).
   */
  readonly wildcards?: readonly { readonly because: string; readonly resources?: readonly string[] }[];
  /** For a job that reaches a private cluster endpoint. */
  readonly vpc?: VpcPlacement | undefined;
  /** For a job that talks to an EKS cluster of this region: its role is mapped to this Kubernetes group. */
  readonly kubernetes?: { readonly clusterName: string; readonly group: string };
}

/**
 * A scheduled gitpod-dr job: an EventBridge rule that invokes a Lambda function, in the spirit of
 * aws-solutions-constructs' `EventbridgeToLambda`. It owns what every job has: the retained log group,
 * the function with the stage, topic and configuration in its environment and its Errors/Throttles
 * alarms (jobFunction), the asynchronous-invoke settings with the alerts topic as on-failure destination,
 * the grants to publish failure notifications to the encrypted alerts topic, the schedule with its
 * retry policy and alarmed dead-letter queue, and the stack output naming the function. A stack gives
 * only what is its tier's: the IAM for its APIs.
 *
 * Deliberately not a `Construct` subclass: a construct node puts its id into the path, and so into the
 * logical ID, of every resource below it, also of those CDK and SST create inside the function (role,
 * policy, invoke configuration, SSM parameter, the rule's invoke permission). CloudFormation would
 * replace every deployed job and orphan its retained log group. Overriding each of those logical IDs
 * would be more code than the job itself and would break with any new child; so the resources are
 * created in the stack's scope with the ids the stacks have always used (`<id>Logs`, `<id>`,
 * `<id>Schedule`, `<id>AccessEntry`, output `<id>Function`; new ones `<id>ErrorsAlarm`,
 * `<id>ThrottlesAlarm`, `<id>ScheduleDlq`, `<id>ScheduleDlqAlarm`), in the order the templates list them.
 */
export class ScheduledJob {
  readonly function: SstFunction;
  readonly logGroup: logs.ILogGroup;
  readonly rule: events.Rule;

  constructor(stack: Stack, id: string, props: ScheduledJobProps) {
    const { topic, key } = props.alerts;
    const { fn, logGroup } = jobFunction(stack, id, {
      description: props.description,
      handler: props.handler,
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      config: props.config,
      topic,
      vpc: props.vpc,
    });
    // No reserved concurrency: reserving it fails deployments in accounts at the minimum unreserved
    // concurrency (new accounts have a limit of 10). So a job must be safe to run twice at once (a retry
    // meeting the next schedule, a CLI run): say at `retryAttempts` why this one is.
    // When Lambda gives up on an event (its retries failed, or it waited past the maximum age, e.g.
    // throttled), the invocation record goes to the alerts topic: the only message for an invocation that
    // died where the handler could not report it (out of memory, a crash at load, the hard timeout). The
    // topic rather than a queue: a person gets each failure at once, with the record (condition, error
    // type); an alarmed queue would stay in ALARM until purged and say nothing of a second failure. Lambda
    // publishes with the function's role, which already may publish and use the topic's key (below); the
    // destination is given by ARN so that CDK's SnsDestination does not add a second, unnamed grant.
    const onFailure: lambda.IDestination = { bind: () => ({ destination: topic.topicArn }) };
    fn.configureAsyncInvoke({
      retryAttempts: props.retryAttempts,
      maxEventAge: Duration.hours(1),
      onFailure,
    });

    for (const tierStatement of props.policy) fn.addToRolePolicy(tierStatement);
    fn.addToRolePolicy(statement("PublishFailureNotifications", ["sns:Publish"], [topic.topicArn]));
    // The topic is encrypted: publishing encrypts with its key (SNS asks KMS on the caller's behalf).
    fn.addToRolePolicy(
      statement("EncryptNotificationsWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.keyArn]),
    );

    if (props.kubernetes) {
      kubernetesAccess(stack, `${id}AccessEntry`, {
        clusterName: props.kubernetes.clusterName,
        principalArn: (fn.role as iam.IRole).roleArn,
        group: props.kubernetes.group,
      });
    }

    this.rule = new events.Rule(stack, `${id}Schedule`, {
      description: `gitpod-dr ${stack.stage}: ${props.scheduleDescription}`,
      schedule: events.Schedule.expression(props.schedule),
    });
    // An event EventBridge cannot deliver after its retries (the function deleted or its resource policy
    // lost, the Invoke API refusing the event) waits in the queue, whose alarm says the job did not run.
    const dlq = deadLetterQueue(stack, `${id}ScheduleDlq`, {
      what: `${kebab(id)}-schedule`,
      delivers: `start the ${props.scheduleDescription} (function ${id}) on its schedule`,
      topic,
    });
    this.rule.addTarget(
      new targets.LambdaFunction(fn, {
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: dlq,
      }),
    );
    for (const w of props.wildcards ?? []) {
      acceptWildcards(stack, fn, w.because, w.resources ?? resourcesOf(props.policy));
    }
    stack.addOutputs({ [`${id}Function`]: fn.functionName });
    this.function = fn;
    this.logGroup = logGroup;
  }
}
