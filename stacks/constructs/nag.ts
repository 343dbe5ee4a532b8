import type { Stack } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import { NagSuppressions } from "cdk-nag";
import type { IConstruct } from "constructs";

/**
 * Accepts a cdk-nag AwsSolutions finding on one resource (a construct's CloudFormation resource), with
 * the reason a reviewer checks. `appliesTo` narrows a granular rule (IAM4, IAM5) to the findings named,
 * as strings or `/regex/`; test/stacks/nag.test.ts runs the checks.
 */
export function acceptFinding(
  construct: IConstruct,
  rule: `AwsSolutions-${string}`,
  reason: string,
  appliesTo?: readonly (string | { regex: string })[],
): void {
  if (appliesTo?.length === 0) return; // nothing of the kind here
  NagSuppressions.addResourceSuppressions(construct, [
    { id: rule, reason, ...(appliesTo ? { appliesTo: [...appliesTo] } : {}) },
  ]);
}

/** The role of a function or state machine, where AwsSolutions-IAM4 (managed policies) is reported. */
export function roleOf(owner: { readonly role?: iam.IRole | undefined }): iam.IRole {
  if (!owner.role) throw new Error("The construct has no role");
  return owner.role;
}

/** The default policy of a function's or state machine's role, where AwsSolutions-IAM5 is reported. */
export function policyOf(owner: { readonly role?: iam.IRole | undefined }): IConstruct {
  const policy = roleOf(owner).node.tryFindChild("DefaultPolicy");
  if (!policy) throw new Error(`The role ${roleOf(owner).node.path} has no default policy yet`);
  return policy;
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

/**
 * Accepts the AwsSolutions-IAM5 findings of the wildcard ARNs among `resources` on the default policy of
 * `owner`'s role, with the reason a reviewer checks.
 */
export function acceptWildcards(
  stack: Stack,
  owner: { readonly role?: iam.IRole | undefined },
  reason: string,
  resources: readonly string[],
): void {
  acceptFinding(policyOf(owner), "AwsSolutions-IAM5", reason, wildcardFindings(stack, resources));
}

/** Every resource the statements name. */
export const resourcesOf = (statements: readonly iam.PolicyStatement[]) =>
  statements.flatMap((s) => s.resources);
