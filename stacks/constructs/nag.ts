import type { Stack } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import { NagSuppressions } from "cdk-nag";
import type { IConstruct } from "constructs";

/**
 * Accepts a cdk-nag AwsSolutions finding on a construct and the resources below it (a function's role
 * and its default policy), with the reason a reviewer checks. `appliesTo` narrows a granular rule (IAM4,
 * IAM5) to the findings named, as strings or `/regex/`; test/stacks/nag.test.ts runs the checks.
 */
export function acceptFinding(
  construct: IConstruct,
  rule: `AwsSolutions-${string}`,
  reason: string,
  appliesTo?: readonly (string | { regex: string })[],
): void {
  if (appliesTo?.length === 0) return; // nothing of the kind here
  NagSuppressions.addResourceSuppressions(
    construct,
    [{ id: rule, reason, ...(appliesTo ? { appliesTo: [...appliesTo] } : {}) }],
    true,
  );
}

/** The finding id of an AWS managed policy attached to a role (AwsSolutions-IAM4). */
export const managedPolicy = (name: string) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${name}`;

/**
 * The AwsSolutions-IAM5 finding ids of the wildcard ARNs among `resources`, as cdk-nag prints them (the
 * partition token as `<AWS::Partition>`); "*" itself is left out (see jobFunction).
 */
export function wildcardFindings(stack: Stack, resources: readonly string[]): string[] {
  const findings = resources
    .filter((arn) => arn !== "*" && arn.includes("*"))
    .map((arn) => `Resource::${arn.replaceAll(stack.partition, "<AWS::Partition>")}`);
  return [...new Set(findings)];
}

/** Every resource the statements name. */
export const resourcesOf = (statements: readonly iam.PolicyStatement[]) =>
  statements.flatMap((s) => s.resources);
