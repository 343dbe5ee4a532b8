import * as iam from "aws-cdk-lib/aws-iam";

/** Adds an Allow statement whose Sid reads as a sentence. */
export type Allow = (
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, unknown>,
) => void;

/** An Allow statement whose Sid reads as a sentence. */
export function statement(...[sid, actions, resources, conditions]: Parameters<Allow>): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) });
}

/** A role's statements, written in order with `allow` (the order is the policy document's). */
export function policy(): { statements: iam.PolicyStatement[]; allow: Allow } {
  const statements: iam.PolicyStatement[] = [];
  return { statements, allow: (...args) => void statements.push(statement(...args)) };
}
