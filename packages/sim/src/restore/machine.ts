/**
 * The restore state machine as synthesized by `stacks/Restore.ts`, turned into plain ASL for
 * aws-local-stepfunctions, and what runs a Task state the way Lambda does. Product code of the
 * simulation (the rehearsal and the tests' harness share it): no test framework here.
 */
import { createRequire } from "node:module";
import type { StageConfigInput } from "@gitpod-dr/core/config";
import { Template } from "aws-cdk-lib/assertions";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { getStack } from "sst/constructs";
import { Restore } from "../../../../stacks/Restore.ts";
import { ACCOUNT, synthApp } from "../synth.ts";

export interface IntrinsicContext {
  readonly region: string;
  readonly account: string;
}

/** Resolves the intrinsics CDK writes into a DefinitionString (Fn::Join, Fn::GetAtt of functions, Ref). */
export function resolveIntrinsics(value: unknown, context: IntrinsicContext): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v["Fn::Join"])) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, context)).join(sep);
  }
  if (Array.isArray(v["Fn::GetAtt"])) {
    const [logicalId] = v["Fn::GetAtt"] as [string];
    return `arn:aws:lambda:${context.region}:${context.account}:function:${logicalId}`;
  }
  if (v.Ref === "AWS::Partition") return "aws";
  if (v.Ref === "AWS::Region") return context.region;
  if (v.Ref === "AWS::AccountId") return context.account;
  throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(value)}`);
}

export interface SynthesizedRestore {
  definition: StateMachineDefinition;
  /** The state machine resource's properties (TimeoutSeconds etc. are in the definition). */
  properties: Record<string, unknown>;
}

const synthesized = new Map<string, Promise<SynthesizedRestore>>();

/**
 * The restore machine of a stage, synthesized once per process for the same configuration and
 * deployment (a rehearsal of several scenarios of one stage synthesizes each kind once: ~60 s each).
 */
export function restoreMachineOf(
  config: StageConfigInput,
  options: { stage: string; region: string; kind?: "primary" | "standby" },
): Promise<SynthesizedRestore> {
  const key = JSON.stringify([config, options]);
  let found = synthesized.get(key);
  if (!found) {
    found = synthesizeRestoreMachine(config, options);
    synthesized.set(key, found);
    found.catch(() => synthesized.delete(key));
  }
  return found;
}

/** Synthesizes the stage (every stack, as `sst deploy` would) and returns the restore machine's ASL. */
export async function synthesizeRestoreMachine(
  config: StageConfigInput,
  options: { stage: string; region: string; kind?: "primary" | "standby" },
): Promise<SynthesizedRestore> {
  await synthApp({
    stage: options.stage,
    config,
    region: options.region,
    ...(options.kind ? { kind: options.kind } : {}),
  });
  const template = Template.fromStack(getStack(Restore)).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const machines = Object.values(template.Resources).filter(
    (r) => r.Type === "AWS::StepFunctions::StateMachine",
  );
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const properties = (machines[0] as { Properties: Record<string, unknown> }).Properties;
  const definition = JSON.parse(
    resolveIntrinsics(properties.DefinitionString, { region: options.region, account: ACCOUNT }),
  ) as StateMachineDefinition;
  return { definition, properties };
}

export interface AslValidation {
  isValid: boolean;
  errors: unknown[];
}

/** asl-validator (CommonJS, untyped) with path and ARN checks. */
export function validateAsl(definition: StateMachineDefinition): AslValidation {
  const require = createRequire(import.meta.url);
  const validator = require("asl-validator") as (
    definition: unknown,
    options: { checkPaths: boolean; checkArn: boolean },
  ) => AslValidation;
  return validator(definition, { checkPaths: true, checkArn: true });
}

export interface StateInfo {
  readonly type: string;
  readonly next?: string;
  readonly seconds?: number;
  readonly maxConcurrency?: number;
  /** The index of the Parallel branch the state is in (top level: undefined). */
  readonly branch?: number;
  /** The name of the branch's first state (e.g. "Restore the database?"). */
  readonly branchStart?: string;
}

/** Every state name of the definition, Parallel branches and Map processors included, with its type. */
export function allStates(definition: { States: Record<string, unknown> }): Map<string, string> {
  return new Map([...describeStates(definition)].map(([name, info]) => [name, info.type]));
}

/** Every state with what the simulation needs of it (its branch, its Wait seconds, its Map concurrency). */
export function describeStates(definition: { States: Record<string, unknown> }): Map<string, StateInfo> {
  const found = new Map<string, StateInfo>();
  let branches = 0;
  const walk = (states: Record<string, unknown>, branch: { index: number; start: string } | undefined) => {
    for (const [name, raw] of Object.entries(states)) {
      const state = raw as {
        Type: string;
        Next?: string;
        Seconds?: number;
        MaxConcurrency?: number;
        Branches?: { StartAt: string; States: Record<string, unknown> }[];
        ItemProcessor?: { States: Record<string, unknown> };
        Iterator?: { States: Record<string, unknown> };
      };
      found.set(name, {
        type: state.Type,
        ...(state.Next ? { next: state.Next } : {}),
        ...(state.Seconds !== undefined ? { seconds: state.Seconds } : {}),
        ...(state.MaxConcurrency !== undefined ? { maxConcurrency: state.MaxConcurrency } : {}),
        ...(branch ? { branch: branch.index, branchStart: branch.start } : {}),
      });
      for (const b of state.Branches ?? []) walk(b.States, { index: branches++, start: b.StartAt });
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) walk(processor.States, branch);
    }
  };
  walk(definition.States, undefined);
  return found;
}

/** Which function each Task state invokes (as the stack wires them). */
export const TASK_FUNCTIONS = {
  "Validate input": "plan",
  "Build plan": "plan",
  "Notify plan": "notify",
  "Restore database": "database",
  "Check database": "database",
  "Ensure image": "image",
  "Restore application": "application",
  "Check application restore": "application",
  "Point application at restored endpoints": "application",
  "Check configuration": "application",
  Redeploy: "application",
  "Check rollout": "application",
  Verify: "application",
  "Notify success": "notify",
  "Notify success (tiers only)": "notify",
  "Notify failure": "notify",
} as const satisfies Record<string, string>;

export type RestoreFunction = (typeof TASK_FUNCTIONS)[keyof typeof TASK_FUNCTIONS];

/** The Wait states of the restore machine (run with 0 s in local runs; the rehearsal counts them virtually). */
export const WAITS = [
  "Wait for database",
  "Wait for application restore",
  "Wait for configuration",
  "Wait for rollout",
];

/**
 * As Lambda reports a function error to Step Functions: `Error` is the error's name, `Cause` the JSON
 * `{"errorType","errorMessage","trace"}`.
 */
export function lambdaError(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const out = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
  out.name = e.name;
  return out;
}

/** An event of aws-local-stepfunctions' `eventLogs` (its own type is not exported), as far as callers read it. */
export interface EventLog {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
}
