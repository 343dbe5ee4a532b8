import type { SynthesizedRegion, Template } from "./synth-app.ts";

/** One IAM statement as a reviewer reads it: CloudFormation expressions rendered to ARNs. */
export interface Permission {
  readonly sid?: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: unknown;
}

/** An IAM role and everything it may do: inline and attached policies, and Kubernetes access entries. */
export interface RoleSummary {
  readonly role: string;
  readonly managedPolicies: readonly string[];
  readonly permissions: readonly Permission[];
  /** EKS access entries mapping the role into a cluster (its Kubernetes groups and access policies). */
  readonly kubernetes: readonly string[];
}

export interface FunctionSummary extends RoleSummary {
  readonly stack: string;
  readonly function: string;
  readonly description?: string;
  readonly handler?: string;
  readonly triggers: readonly string[];
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
}

export interface RegionSummary {
  readonly region: string;
  readonly kind: "primary" | "standby";
  readonly dir: string;
  readonly stacks: readonly { readonly name: string; readonly file: string }[];
  readonly functions: readonly FunctionSummary[];
  /** Roles not of a function (a state machine's, a service's), with their permissions. */
  readonly otherRoles: readonly (RoleSummary & {
    readonly stack: string;
    readonly usedBy: readonly string[];
  })[];
  /** CloudWatch alarms and the EventBridge rules that notify (their targets are not functions). */
  readonly alarms: readonly { readonly stack: string; readonly name: string; readonly detail: string }[];
}

type Resources = NonNullable<Template["Resources"]>;

/** A CloudFormation value as text: `Fn::Join` joined, pseudo parameters named, references as `<LogicalId>`. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(renderValue).join(", ");
  if (value && typeof value === "object") {
    const [key, arg] = Object.entries(value)[0] ?? [];
    if (key === "Ref") return arg === "AWS::Partition" ? "aws" : `<${String(arg).replace(/^AWS::/, "")}>`;
    if (key === "Fn::Join") {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map(renderValue).join(sep);
    }
    if (key === "Fn::GetAtt") return `<${(arg as string[]).join(".")}>`;
    if (key === "Fn::ImportValue") return `<${importName(renderValue(arg))}>`;
    if (key === "Fn::Sub") return renderValue(Array.isArray(arg) ? arg[0] : arg);
    return JSON.stringify(value);
  }
  return String(value);
}

/** `stack:ExportsOutputRefAlertsTopic3414BE910C2DFF03` as `AlertsTopic of stack` (CDK's generated export names). */
function importName(name: string): string {
  const m = /^(.+):ExportsOutput(?:Ref|FnGetAtt)(\w+?)[0-9A-F]{8}(\w*?)[0-9A-F]{8}$/.exec(name);
  return m ? `${m[2]}${m[3] ? `.${m[3]}` : ""} of ${m[1]}` : `import ${name}`;
}

const list = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Whether `value` (a Ref or GetAtt) points at the resource `id`. */
function refersTo(value: unknown, id: string): boolean {
  if (!value || typeof value !== "object") return false;
  const v = value as { Ref?: unknown; "Fn::GetAtt"?: unknown[] };
  return v.Ref === id || (Array.isArray(v["Fn::GetAtt"]) && v["Fn::GetAtt"][0] === id);
}

/** Whether `id` appears anywhere in `value` as a Ref or GetAtt. */
function mentions(value: unknown, id: string): boolean {
  if (refersTo(value, id)) return true;
  if (Array.isArray(value)) return value.some((v) => mentions(v, id));
  if (value && typeof value === "object") return Object.values(value).some((v) => mentions(v, id));
  return false;
}

function statements(document: unknown): Permission[] {
  return list((document as { Statement?: unknown })?.Statement).map((raw) => {
    const s = raw as Record<string, unknown>;
    const actions = list(s.Action ?? s.NotAction).map(renderValue);
    return {
      ...(s.Sid ? { sid: String(s.Sid) } : {}),
      effect: `${String(s.Effect)}${s.NotAction ? " (all but these actions)" : ""}`,
      actions,
      resources: list(s.Resource ?? s.NotResource).map(renderValue),
      ...(s.Condition ? { conditions: s.Condition } : {}),
    };
  });
}

function roleSummary(resources: Resources, roleId: string): RoleSummary {
  const role = resources[roleId]?.Properties ?? {};
  const permissions: Permission[] = list(role.Policies).flatMap((p) =>
    statements((p as { PolicyDocument?: unknown }).PolicyDocument),
  );
  const kubernetes: string[] = [];
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === "AWS::IAM::Policy" && list(p.Roles).some((x) => refersTo(x, roleId)))
      permissions.push(...statements(p.PolicyDocument));
    if (r.Type === "AWS::EKS::AccessEntry" && refersTo(p.PrincipalArn, roleId)) {
      const groups = list(p.KubernetesGroups).map(renderValue);
      const policies = list(p.AccessPolicies).map((a) => {
        const ap = a as { PolicyArn?: unknown; AccessScope?: { Type?: string; Namespaces?: string[] } };
        return `${renderValue(ap.PolicyArn)} (${ap.AccessScope?.Type ?? "cluster"}${ap.AccessScope?.Namespaces ? `: ${ap.AccessScope.Namespaces.join(", ")}` : ""})`;
      });
      kubernetes.push(
        `cluster ${renderValue(p.ClusterName)}: ${[...(groups.length ? [`groups ${groups.join(", ")}`] : []), ...policies].join("; ") || "no groups or access policies"}`,
      );
    }
  }
  return {
    role: roleId,
    managedPolicies: list(role.ManagedPolicyArns).map(renderValue),
    permissions,
    kubernetes,
  };
}

/** What starts a function: schedules and event rules targeting it, state machines and custom resources using it. */
function triggers(resources: Resources, fnId: string): string[] {
  const found: string[] = [];
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (
      r.Type === "AWS::Events::Rule" &&
      list(p.Targets).some((t) => refersTo((t as { Arn?: unknown }).Arn, fnId))
    ) {
      found.push(
        p.ScheduleExpression
          ? `schedule ${String(p.ScheduleExpression)}${p.State === "DISABLED" ? " (disabled)" : ""}`
          : `event rule ${id}: ${JSON.stringify(p.EventPattern)}`,
      );
    }
    if (r.Type === "AWS::Scheduler::Schedule" && refersTo((p.Target as { Arn?: unknown })?.Arn, fnId))
      found.push(`schedule ${String(p.ScheduleExpression)}`);
    if (r.Type === "AWS::StepFunctions::StateMachine" && mentions(p.DefinitionString ?? p.Definition, fnId)) {
      const states = stateNames(renderValue(p.DefinitionString), fnId);
      found.push(
        `state machine ${renderValue(p.StateMachineName ?? id)}${states.length ? `: ${states.join(", ")}` : ""}`,
      );
    }
    if (
      (r.Type.startsWith("Custom::") || r.Type === "AWS::CloudFormation::CustomResource") &&
      refersTo(p.ServiceToken, fnId)
    )
      found.push(`custom resource ${id} (${r.Type}) at deploy time`);
  }
  return found;
}

/** The task states (nested ones of Parallel and Map too) of a rendered definition that invoke the function. */
function stateNames(definition: string, fnId: string): string[] {
  const ref = `<${fnId}.Arn>`;
  const names: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v);
      return;
    }
    if (!value || typeof value !== "object") return;
    const states = (
      value as { States?: Record<string, { Resource?: string; Parameters?: { FunctionName?: string } }> }
    ).States;
    for (const [name, s] of Object.entries(states ?? {})) {
      if (s.Resource === ref || s.Parameters?.FunctionName?.startsWith(ref)) names.push(name);
    }
    for (const v of Object.values(value)) walk(v);
  };
  try {
    walk(JSON.parse(definition));
  } catch {
    // A definition that is not JSON after rendering: the trigger is still listed, without state names.
  }
  return names;
}

function alarms(stack: string, resources: Resources): RegionSummary["alarms"] {
  const out: { stack: string; name: string; detail: string }[] = [];
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === "AWS::CloudWatch::Alarm") {
      const metric = p.MetricName
        ? `${String(p.Namespace)} ${String(p.MetricName)} (${String(p.Statistic ?? p.ExtendedStatistic ?? "")})`
        : "metric math";
      out.push({
        stack,
        name: renderValue(p.AlarmName ?? id),
        detail: `${metric} ${String(p.ComparisonOperator)} ${String(p.Threshold)} for ${String(p.EvaluationPeriods)} x ${String(p.Period ?? "")} s; actions: ${list(p.AlarmActions).map(renderValue).join(", ") || "none"}`,
      });
    }
    const targets = list(p.Targets) as { Arn?: unknown }[];
    const toFunction = targets.some((t) => {
      const target = resources[(t.Arn as { "Fn::GetAtt"?: string[] })?.["Fn::GetAtt"]?.[0] ?? ""];
      return target?.Type === "AWS::Lambda::Function";
    });
    if (r.Type === "AWS::Events::Rule" && p.EventPattern && !toFunction) {
      out.push({
        stack,
        name: renderValue(p.Name ?? id),
        detail: `${renderValue(p.Description ?? "")}: ${JSON.stringify(p.EventPattern)} → ${targets.map((t) => renderValue(t.Arn)).join(", ")}`,
      });
    }
  }
  return out;
}

/** The security reviewer's view of the synthesized stage, per region. */
export function summarize(regions: readonly SynthesizedRegion[]): RegionSummary[] {
  return regions.map(({ region, kind, dir, stacks }) => {
    const functions: FunctionSummary[] = [];
    const otherRoles: RegionSummary["otherRoles"][number][] = [];
    const found: RegionSummary["alarms"][number][] = [];
    for (const stack of stacks) {
      const resources = stack.template.Resources ?? {};
      const functionRoles = new Set<string>();
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type !== "AWS::Lambda::Function") continue;
        const p = r.Properties ?? {};
        const roleId = (p.Role as { "Fn::GetAtt"?: string[] })?.["Fn::GetAtt"]?.[0] ?? "";
        functionRoles.add(roleId);
        const t = triggers(resources, id);
        functions.push({
          stack: stack.name,
          function: id,
          ...(p.Description ? { description: renderValue(p.Description) } : {}),
          ...(p.Handler ? { handler: renderValue(p.Handler) } : {}),
          triggers: t.length ? t : ["none in this template (SST's deploy-time custom-resource handler)"],
          ...(typeof p.Timeout === "number" ? { timeoutSeconds: p.Timeout } : {}),
          ...(typeof p.MemorySize === "number" ? { memoryMb: p.MemorySize } : {}),
          ...roleSummary(resources, roleId),
        });
      }
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type !== "AWS::IAM::Role" || functionRoles.has(id)) continue;
        const usedBy = Object.entries(resources)
          .filter(
            ([, u]) =>
              u.Type !== "AWS::IAM::Policy" && refersTo(u.Properties?.RoleArn ?? u.Properties?.Role, id),
          )
          .map(([uid, u]) => `${uid} (${u.Type})`);
        otherRoles.push({ stack: stack.name, usedBy, ...roleSummary(resources, id) });
      }
      found.push(...alarms(stack.name, resources));
    }
    return {
      region,
      kind,
      dir,
      stacks: stacks.map((s) => ({ name: s.name, file: s.file })),
      functions,
      otherRoles,
      alarms: found,
    };
  });
}

function formatRole(r: RoleSummary): string[] {
  const lines = [`    role ${r.role}`];
  for (const m of r.managedPolicies) lines.push(`      managed policy ${m}`);
  for (const p of r.permissions) {
    lines.push(`      ${p.effect} ${p.actions.join(", ")}${p.sid ? `  [${p.sid}]` : ""}`);
    for (const res of p.resources) lines.push(`        on ${res}`);
    if (p.conditions) lines.push(`        when ${JSON.stringify(p.conditions)}`);
  }
  for (const k of r.kubernetes) lines.push(`      Kubernetes: ${k}`);
  return lines;
}

/** The summary as a security reviewer reads it in a terminal. */
export function formatSynthSummary(
  stage: string,
  account: string,
  placeholder: boolean,
  regions: readonly RegionSummary[],
): string {
  const lines = [
    `Stage ${stage} synthesized offline for account ${account}${placeholder ? " (a placeholder: --account ID shows your ARNs)" : ""}`,
  ];
  for (const r of regions) {
    lines.push(
      "",
      `== ${r.region}: ${r.kind === "primary" ? "primary region (every stack)" : "DR region (the restore's standby)"}`,
      `  templates in ${r.dir}: ${r.stacks.map((s) => s.name).join(", ")}`,
    );
    for (const f of r.functions) {
      lines.push(
        "",
        `  function ${f.function} (${f.stack})${f.description ? `: ${f.description}` : ""}`,
        `    trigger: ${f.triggers.join("; ")}`,
        `    timeout ${f.timeoutSeconds ?? "default"} s, memory ${f.memoryMb ?? "default"} MB${f.handler ? `, handler ${f.handler}` : ""}`,
        ...formatRole(f),
      );
    }
    for (const o of r.otherRoles) {
      lines.push(
        "",
        `  role of ${o.usedBy.join(", ") || "no resource in this template"} (${o.stack})`,
        ...formatRole(o),
      );
    }
    lines.push("", "  alarms and notifications:");
    if (r.alarms.length === 0) lines.push("    none");
    for (const a of r.alarms) lines.push(`    ${a.name} (${a.stack}): ${a.detail}`);
  }
  return lines.join("\n");
}
