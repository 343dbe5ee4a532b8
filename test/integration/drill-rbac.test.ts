/**
 * The drill's cluster access (deploy/rbac-drill.yaml): its RBAC, evaluated by the Kubernetes simulator's
 * RBAC, gives the drill's group what a drill does and nothing that changes the application; its
 * ValidatingAdmissionPolicy, evaluated with the API server's semantics (packages/sim/src/drill/admission.ts:
 * the simulator has no CEL engine), lets that group delete only scratch namespaces (<ns>-drill-<id>). The drill
 * machine test (drill-machine.test.ts) runs every drill step through this RBAC.
 */
import { describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { drillId, scratchNamespace } from "../../packages/core/src/drill/naming.ts";
import { admissionDenial, evaluate } from "../../packages/sim/src/drill/admission.ts";
import { DRILL_USER } from "../../packages/sim/src/drill/world.ts";
import { loadRbac, Rbac } from "../../packages/sim/src/kube/rbac.ts";
import { RESTORE_USER } from "../../packages/sim/src/kube/velero-cluster.ts";
import { DRILL_KUBERNETES_GROUP } from "../../stacks/drill/functions.ts";

const manifest = loadRbac("deploy/rbac-drill.yaml");
const rbac = new Rbac(manifest);
const ID = drillId("abc123", "2026-12-06T04:00:00Z");
const can = (verb: string, group: string, resource: string, namespace?: string, name?: string) =>
  rbac.allows(DRILL_USER, { verb, group, resource, namespace, name });
const deleting = (name: string, groups: readonly string[] = DRILL_USER.groups) =>
  admissionDenial(manifest, {
    operation: "DELETE",
    group: "",
    resource: "namespaces",
    userInfo: { username: "u", groups },
    oldObject: { metadata: { name } },
  });

describe("the drill's RBAC", () => {
  it("binds the group the stack maps the drill function's role to", () => {
    const subjects = (manifest as { kind: string; subjects?: { name: string }[] }[])
      .filter((d) => d.kind.endsWith("Binding") && d.subjects)
      .flatMap((d) => d.subjects?.map((s) => s.name) ?? []);
    expect(new Set(subjects)).toEqual(new Set([DRILL_KUBERNETES_GROUP]));
    expect(DRILL_USER.groups).toContain(DRILL_KUBERNETES_GROUP);
  });

  it("allows what a drill does: its Restore and hold ConfigMap in velero, listing the scratch kinds, deleting namespaces", () => {
    expect(can("get", "velero.io", "backups", "velero", "b")).toBe(true);
    for (const verb of ["create", "get", "list", "delete"]) {
      expect(can(verb, "velero.io", "restores", "velero", verb === "create" ? undefined : "r"), verb).toBe(
        true,
      );
      expect(can(verb, "", "configmaps", "velero", verb === "create" ? undefined : "c"), verb).toBe(true);
    }
    expect(can("list", "", "namespaces", undefined)).toBe(true);
    expect(can("delete", "", "namespaces", undefined, scratchNamespace("gitpod", ID))).toBe(true);
    for (const [group, resource] of [
      ["apps", "deployments"],
      ["apps", "statefulsets"],
      ["", "pods"],
      ["", "configmaps"],
    ]) {
      expect(can("list", group as string, resource as string, scratchNamespace("gitpod", ID)), resource).toBe(
        true,
      );
    }
  });

  it("does not let the drill read Secrets: listing them returns their data, and RBAC cannot narrow it to scratch namespaces", () => {
    for (const namespace of [scratchNamespace("gitpod", ID), "gitpod", "kube-system", undefined]) {
      expect(can("list", "", "secrets", namespace), String(namespace)).toBe(false);
      expect(can("watch", "", "secrets", namespace), String(namespace)).toBe(false);
    }
  });

  it("deploy/rbac-drill-secrets.yaml, the opt-in for counting Secrets, adds listing Secrets and nothing else", () => {
    const withSecrets = new Rbac([...manifest, ...loadRbac("deploy/rbac-drill-secrets.yaml")]);
    const allows = (verb: string, resource: string, namespace?: string, name?: string) =>
      withSecrets.allows(DRILL_USER, { verb, group: "", resource, namespace, name });
    expect(allows("list", "secrets", scratchNamespace("gitpod", ID))).toBe(true);
    for (const verb of ["get", "watch", "create", "update", "patch", "delete"]) {
      expect(allows(verb, "secrets", "gitpod", "database"), verb).toBe(false);
    }
    expect(allows("delete", "configmaps", "gitpod", "x")).toBe(false);
    const subjects = (
      loadRbac("deploy/rbac-drill-secrets.yaml") as { kind: string; subjects?: { name: string }[] }[]
    ).flatMap((d) => d.subjects?.map((s) => s.name) ?? []);
    expect(subjects).toEqual([DRILL_KUBERNETES_GROUP]);
  });

  it("allows nothing that changes the application or reads one object of it", () => {
    for (const [verb, group, resource] of [
      ["delete", "apps", "deployments"],
      ["patch", "apps", "deployments"],
      ["create", "apps", "deployments"],
      ["get", "", "secrets"],
      ["delete", "", "configmaps"],
      ["create", "", "configmaps"],
      ["delete", "", "pods"],
      ["create", "", "namespaces"],
      ["patch", "", "namespaces"],
    ]) {
      expect(
        can(verb as string, group as string, resource as string, "gitpod", "x"),
        `${verb} ${resource}`,
      ).toBe(false);
    }
    expect(can("delete", "velero.io", "backups", "velero", "b")).toBe(false);
    expect(can("create", "velero.io", "restores", "gitpod")).toBe(false);
    // Other identities get nothing from this manifest.
    expect(
      rbac.allows(RESTORE_USER, {
        verb: "delete",
        group: "",
        resource: "namespaces",
        namespace: undefined,
        name: "x",
      }),
    ).toBe(false);
  });
});

describe("the drill's admission policy: it deletes only scratch namespaces", () => {
  it("admits deleting the drill's scratch namespaces (as the example stage names them)", () => {
    for (const ns of exampleConfig.application.velero.includedNamespaces) {
      expect(deleting(scratchNamespace(ns, ID))).toBeUndefined();
    }
    expect(deleting(`gitpod-drill-${ID}`)).toBeUndefined();
  });

  it("admits the scratch namespaces of any application namespace the stage may name (velero.includedNamespaces)", () => {
    for (const ns of ["gitpod-prod", "kotsadm", "a", "team-42-gitpod", "x".repeat(63)]) {
      const scratch = scratchNamespace(ns, ID);
      expect(deleting(scratch), scratch).toBeUndefined();
    }
    expect(deleting(scratchNamespace("gitpod", drillId("Z9", "2026-01-31T23:59:00Z")))).toBeUndefined();
  });

  it("denies the drill's group deleting any other namespace, with the policy's message", () => {
    for (const ns of [
      "gitpod",
      "velero",
      "kube-system",
      "default",
      "gitpod-drill",
      "drill-gitpod-x",
      "x-gitpod-drill-1",
      "gitpod-prod",
      "kotsadm",
      `gitpod-drill-${ID}-x`,
      `-drill-${ID}`,
      "gitpod-drill-2026120-0400-abc123",
      "gitpod-drill-20261206-0400-abc1234",
      "gitpod-drill-20261206-0400-ABC123",
    ]) {
      expect(deleting(ns), ns).toBe(
        "gitpod-dr's drill may delete only its scratch namespaces (<namespace>-drill-<yyyymmdd>-<hhmm>-<id>)",
      );
    }
  });

  it("does not apply to other users (their RBAC decides), nor to other operations", () => {
    expect(deleting("gitpod", ["system:masters"])).toBeUndefined();
    expect(
      admissionDenial(manifest, {
        operation: "UPDATE",
        group: "",
        resource: "namespaces",
        userInfo: { username: "u", groups: DRILL_USER.groups },
        oldObject: { metadata: { name: "gitpod" } },
      }),
    ).toBeUndefined();
  });

  it("evaluates exactly the manifest's expressions (an expression it does not know fails this test)", () => {
    const request = {
      operation: "DELETE" as const,
      group: "",
      resource: "namespaces",
      userInfo: { username: "u", groups: ["gitpod-dr-drill"] },
      oldObject: { metadata: { name: `gitpod-drill-${ID}` } },
    };
    expect(evaluate("'gitpod-dr-drill' in request.userInfo.groups", request)).toBe(true);
    expect(evaluate("oldObject.metadata.name.startsWith('gitpod-drill-')", request)).toBe(true);
    expect(evaluate("oldObject.metadata.name.matches('-drill-[0-9]{8}-')", request)).toBe(true);
    expect(evaluate("oldObject.metadata.name.matches('^gitpod$')", request)).toBe(false);
    expect(() => evaluate("object.metadata.name == 'x'", request)).toThrow(/not understood/);
  });
});
