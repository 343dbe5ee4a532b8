/**
 * The drill state machine of a stage as `stacks/Drill.ts` synthesizes it (in the deployment of the
 * drill's target region), turned into plain ASL for aws-local-stepfunctions. Product code of the
 * simulation (the rehearsal uses it): no test framework here.
 */
import type { StageConfigInput } from "@gitpod-dr/core/config";
import { Template } from "aws-cdk-lib/assertions";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { getStack } from "sst/constructs";
import { Drill } from "../../../../stacks/Drill.ts";
import { resolveIntrinsics } from "../restore/machine.ts";
import { ACCOUNT, synthApp } from "../synth.ts";

const synthesized = new Map<string, Promise<StateMachineDefinition>>();

/**
 * The drill machine of a stage, synthesized once per process for the same configuration and deployment.
 * @throws Error when the synthesized drill stack has not exactly one state machine (no `drill` section).
 */
export function drillMachineOf(
  config: StageConfigInput,
  options: { stage: string; region: string; kind: "primary" | "standby" },
): Promise<StateMachineDefinition> {
  const key = JSON.stringify([config, options]);
  let found = synthesized.get(key);
  if (!found) {
    found = (async () => {
      await synthApp({ stage: options.stage, config, region: options.region, kind: options.kind });
      const template = Template.fromStack(getStack(Drill)).toJSON() as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const machines = Object.values(template.Resources).filter(
        (r) => r.Type === "AWS::StepFunctions::StateMachine",
      );
      if (machines.length !== 1)
        throw new Error(`expected one drill state machine, found ${machines.length}`);
      const properties = (machines[0] as { Properties: Record<string, unknown> }).Properties;
      return JSON.parse(
        resolveIntrinsics(properties.DefinitionString, { region: options.region, account: ACCOUNT }),
      ) as StateMachineDefinition;
    })();
    synthesized.set(key, found);
    found.catch(() => synthesized.delete(key));
  }
  return found;
}
