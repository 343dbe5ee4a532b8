/**
 * The ValidatingAdmissionPolicy of deploy/rbac-drill.yaml, evaluated — test code. The Kubernetes
 * simulator has no CEL engine, so this evaluates the policy with the API server's semantics for the
 * expressions it is written with, and refuses any other expression (a changed policy fails its test
 * until it is understood here, rather than passing unevaluated):
 * - a policy applies when a `matchConstraints.resourceRules` entry matches the request's operation,
 *   API group and resource, and every `matchConditions` expression is true;
 * - for a DELETE, `object` is null and `oldObject` is the object being deleted;
 * - it denies (with its binding's `validationActions: ["Deny"]`) when a validation is false; an
 *   expression that cannot be evaluated counts as denied (`failurePolicy: Fail`).
 * Understood: `'<group>' in request.userInfo.groups`, `oldObject.metadata.name.startsWith('<prefix>')` and
 * `oldObject.metadata.name.matches('<RE2 regex>')` (CEL's `matches` finds the regex anywhere in the
 * string, as RegExp.test does; the policy anchors it; the regex uses no syntax RE2 and RegExp read apart).
 */

export interface AdmissionRequest {
  readonly operation: "CREATE" | "UPDATE" | "DELETE";
  readonly group: string;
  readonly resource: string;
  readonly userInfo: { readonly username: string; readonly groups: readonly string[] };
  readonly oldObject?: { readonly metadata: { readonly name: string } };
}

interface Policy {
  metadata: { name: string };
  spec: {
    failurePolicy?: string;
    matchConstraints: {
      resourceRules: { apiGroups: string[]; operations: string[]; resources: string[] }[];
    };
    matchConditions?: { name: string; expression: string }[];
    validations: { expression: string; message?: string }[];
  };
}

const IN_GROUPS = /^'([^']+)' in request\.userInfo\.groups$/;
const NAME_PREFIX = /^oldObject\.metadata\.name\.startsWith\('([^']*)'\)$/;
const NAME_MATCHES = /^oldObject\.metadata\.name\.matches\('([^']*)'\)$/;

/** One expression's value. @throws Error for an expression this evaluator does not understand. */
export function evaluate(expression: string, request: AdmissionRequest): boolean {
  const group = IN_GROUPS.exec(expression.trim());
  if (group) return request.userInfo.groups.includes(group[1] as string);
  const prefix = NAME_PREFIX.exec(expression.trim());
  if (prefix) {
    // oldObject is null for anything but UPDATE/DELETE: the API server's CEL would fail (→ Fail policy).
    if (!request.oldObject) throw new Error("oldObject is null");
    return request.oldObject.metadata.name.startsWith(prefix[1] as string);
  }
  const pattern = NAME_MATCHES.exec(expression.trim());
  if (pattern) {
    if (!request.oldObject) throw new Error("oldObject is null");
    return new RegExp(pattern[1] as string).test(request.oldObject.metadata.name);
  }
  throw new Error(`expression not understood by the test evaluator: ${expression}`);
}

const any = (list: readonly string[], value: string) => list.includes("*") || list.includes(value);

/**
 * The admission decision of the manifest's policies that have a Deny binding.
 * @returns undefined when admitted, else the denial message.
 */
export function admissionDenial(documents: unknown[], request: AdmissionRequest): string | undefined {
  const docs = documents as { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> }[];
  const denying = new Set(
    docs
      .filter(
        (d) =>
          d.kind === "ValidatingAdmissionPolicyBinding" &&
          ((d.spec?.validationActions as string[] | undefined) ?? []).includes("Deny"),
      )
      .map((d) => d.spec?.policyName as string),
  );
  for (const doc of docs) {
    if (doc.kind !== "ValidatingAdmissionPolicy" || !denying.has(doc.metadata?.name ?? "")) continue;
    const policy = doc as unknown as Policy;
    const applies = policy.spec.matchConstraints.resourceRules.some(
      (r) =>
        any(r.operations, request.operation) &&
        any(r.apiGroups, request.group) &&
        any(r.resources, request.resource),
    );
    if (!applies) continue;
    const failClosed = (policy.spec.failurePolicy ?? "Fail") === "Fail";
    const safely = (expression: string): boolean | "error" => {
      try {
        return evaluate(expression, request);
      } catch (error) {
        if ((error as Error).message.startsWith("expression not understood")) throw error;
        return "error";
      }
    };
    const matched = (policy.spec.matchConditions ?? []).map((c) => safely(c.expression));
    if (matched.includes(false)) continue;
    if (matched.includes("error")) {
      if (failClosed) return `policy ${policy.metadata.name}: a match condition could not be evaluated`;
      continue;
    }
    for (const v of policy.spec.validations) {
      const value = safely(v.expression);
      if (value === true) continue;
      if (value === "error" && !failClosed) continue;
      return v.message ?? `denied by ${policy.metadata.name}`;
    }
  }
  return undefined;
}
