import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HELD_ANNOTATION, HOLD_GATE, holdModifier } from "../../../packages/core/src/restore/hold.ts";
import { labelValue } from "../../../packages/core/src/velero/naming.ts";
import { type Json, MARK, RESTORE_ID } from "../../../packages/sim/src/restore/application.ts";

/** The hold: the Velero resource modifier that keeps the restored application from running. */

describe("holdModifier", () => {
  type Rule = {
    conditions: {
      groupResource: string;
      namespaces: string[];
      labelSelector: { matchLabels: Record<string, string> };
    };
    mergePatches?: { patchData: string }[];
    jsonPatches?: unknown;
    strategicPatches?: unknown;
    patches?: unknown;
  };

  const parsed = () =>
    parse(holdModifier("gitpod", { app: "gitpod", tier: "web" }, RESTORE_ID)) as {
      version: string;
      resourceModifierRules: Rule[];
    };
  const patchOf = (rule: Rule | undefined) => JSON.parse(rule?.mergePatches?.[0]?.patchData ?? "") as Json;
  const mark = { annotations: { [HELD_ANNOTATION]: MARK } };

  it("has one rule per kind, each with only one merge patch, for the namespace and the hold selector", () => {
    const doc = parsed();
    expect(doc.version).toBe("v1");
    expect(doc.resourceModifierRules.map((r) => r.conditions.groupResource)).toEqual([
      "deployments.apps",
      "statefulsets.apps",
      "replicasets.apps",
      "pods",
      "jobs.batch",
      "cronjobs.batch",
    ]);
    for (const rule of doc.resourceModifierRules) {
      expect(rule.conditions).toEqual({
        groupResource: rule.conditions.groupResource,
        namespaces: ["gitpod"],
        labelSelector: { matchLabels: { app: "gitpod", tier: "web" } },
      });
      // Velero rejects a rule with more than one kind of patch.
      expect(Object.keys(rule).sort()).toEqual(["conditions", "mergePatches"]);
      expect(rule.mergePatches).toHaveLength(1);
    }
  });

  it("gates the pod template of Deployments, StatefulSets and ReplicaSets, keeping their replica counts", () => {
    const rules = parsed().resourceModifierRules;
    for (const gr of ["deployments.apps", "statefulsets.apps", "replicasets.apps"]) {
      const patch = patchOf(rules.find((r) => r.conditions.groupResource === gr));
      expect(patch, gr).toEqual({
        metadata: mark,
        spec: { template: { spec: { schedulingGates: [{ name: HOLD_GATE }] } } },
      });
      // The replica count stays as backed up: no scaling to zero any more.
      expect((patch.spec as Json).replicas, gr).toBeUndefined();
    }
    expect(HOLD_GATE).toBe("gitpod-dr/held");
  });

  it("gates bare Pods in their own spec and suspends Jobs and CronJobs, all marked", () => {
    const rules = parsed().resourceModifierRules;
    const of = (gr: string) => patchOf(rules.find((r) => r.conditions.groupResource === gr));
    expect(of("pods")).toEqual({ metadata: mark, spec: { schedulingGates: [{ name: HOLD_GATE }] } });
    expect(of("jobs.batch")).toEqual({ metadata: mark, spec: { suspend: true } });
    expect(of("cronjobs.batch")).toEqual({ metadata: mark, spec: { suspend: true } });
  });

  it("marks with the restore id as a label value", () => {
    const patch = patchOf(
      (parse(holdModifier("gitpod", { app: "gitpod" }, "Drill 7/again")) as { resourceModifierRules: Rule[] })
        .resourceModifierRules[0],
    );
    expect((patch.metadata as Json).annotations).toEqual({ [HELD_ANNOTATION]: labelValue("Drill 7/again") });
  });
});
