import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { restoreConfigSchema } from "../../../packages/core/src/config/restore.ts";
import { HELD_ANNOTATION, holdModifier } from "../../../packages/core/src/restore/hold.ts";
import {
  applyResourceModifiers,
  type KubeObject,
  parseResourceModifiers,
  validateResourceModifiers,
} from "../../../packages/sim/src/kube/server.ts";

/**
 * Velero restores an item whose modifier rule failed WITHOUT that rule's patch (issue 17 §1): a hold rule
 * that can fail is a workload restored unheld. Whatever the configuration validates and whatever the
 * backup holds, the hold's rules must apply cleanly. Checked with the simulator's rule engine, which
 * follows Velero's (`internal/resourcemodifiers`): parse, validate, match (label selector built as
 * `metav1.LabelSelectorAsSelector` does), merge-patch.
 */

const GROUP_RESOURCES: Record<string, [string, string]> = {
  "deployments.apps": ["apps/v1", "Deployment"],
  "statefulsets.apps": ["apps/v1", "StatefulSet"],
  "replicasets.apps": ["apps/v1", "ReplicaSet"],
  pods: ["v1", "Pod"],
  "jobs.batch": ["batch/v1", "Job"],
  "cronjobs.batch": ["batch/v1", "CronJob"],
  secrets: ["v1", "Secret"],
};

const labelName = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/);
const labelKey = fc.oneof(
  labelName,
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,5})?$/), labelName)
    .map(([p, n]) => `${p}/${n}`),
);
const labels = fc.dictionary(labelKey, fc.oneof(fc.constant(""), labelName), { maxKeys: 3 });
/** Whatever a backed-up object's spec and metadata may hold (absent, empty, odd shapes). */
const anything = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 2 }),
);

const object = fc.record({
  groupResource: fc.constantFrom(...Object.keys(GROUP_RESOURCES)),
  name: fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/),
  labels,
  annotations: fc.oneof(fc.constant(undefined), fc.dictionary(labelKey, fc.string(), { maxKeys: 2 })),
  spec: anything,
  data: anything,
});

describe("the hold's resource modifier", () => {
  it("never fails on an item, in either mode, for any configuration the schema accepts", () => {
    fc.assert(
      fc.property(
        fc.dictionary(labelKey, fc.oneof(fc.constant(""), labelName), { minKeys: 1, maxKeys: 3 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.boolean(),
        fc.stringMatching(/^[-._a-zA-Z0-9]{1,30}$/),
        fc.array(object, { maxLength: 8 }),
        (holdSelector, restoreId, fsVolumes, hostKey, items) => {
          const config = restoreConfigSchema.parse({
            targets: {
              primary: {
                database: {
                  instanceClass: "db.r6g.large",
                  subnetGroupName: "gitpod-db",
                  securityGroupIds: ["sg-01234567"],
                },
              },
            },
            application: { holdSelector, databaseSecret: { hostKey } },
          }).application;
          const yaml = holdModifier(
            "gitpod",
            config.holdSelector,
            restoreId,
            fsVolumes
              ? { name: config.databaseSecret.name, hostKey: config.databaseSecret.hostKey }
              : undefined,
          );
          const modifiers = parseResourceModifiers({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "hold", namespace: "velero" },
            data: { "hold.yaml": yaml },
          });
          validateResourceModifiers(modifiers);
          for (const item of items) {
            const [apiVersion, kind] = GROUP_RESOURCES[item.groupResource] as [string, string];
            // Half the items carry the hold selector's labels, so the rules match and patch them.
            const matching = item.name.length % 2 === 0;
            const obj = {
              apiVersion,
              kind,
              metadata: {
                name: item.groupResource === "secrets" && matching ? config.databaseSecret.name : item.name,
                namespace: "gitpod",
                labels: matching ? { ...item.labels, ...config.holdSelector } : item.labels,
                ...(item.annotations ? { annotations: item.annotations } : {}),
              },
              ...(item.spec !== undefined ? { spec: item.spec } : {}),
              ...(item.data !== undefined ? { data: item.data } : {}),
            } as KubeObject;
            const out = applyResourceModifiers(modifiers, obj, item.groupResource);
            expect(out.errors, `${item.groupResource} ${JSON.stringify(obj)}`).toEqual([]);
            if (matching && item.groupResource !== "secrets") {
              expect(out.object.metadata.annotations?.[HELD_ANNOTATION]).toBeDefined();
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the schema refuses a selector Velero cannot build (it would fail every rule on every item)", () => {
    const parse = (holdSelector: Record<string, string>) =>
      restoreConfigSchema.safeParse({
        targets: {
          primary: {
            database: {
              instanceClass: "db.r6g.large",
              subnetGroupName: "gitpod-db",
              securityGroupIds: ["sg-01234567"],
            },
          },
        },
        application: { holdSelector },
      }).success;
    expect(parse({ app: "gitpod" })).toBe(true);
    expect(parse({ app: "gitpod dr" })).toBe(false);
    expect(parse({ "example.com/app": "x".repeat(64) })).toBe(false);
    expect(parse({ "Example.com/app": "gitpod" })).toBe(false);
  });
});
