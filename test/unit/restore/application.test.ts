import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type RestoreJobConfig, restoreJobConfigSchema } from "../../../packages/core/src/config.ts";
import {
  type ApplicationDeps,
  type ApplicationStarted,
  checkApplicationRestore,
  checkPointed,
  checkRollout,
  HELD_ANNOTATION,
  HOLD_GATE,
  holdModifier,
  type PointResult,
  pointApplication,
  redeploy,
  startApplicationRestore,
  verify,
} from "../../../packages/core/src/restore/application.ts";
import {
  ApplicationRestoreFailedError,
  PointApplicationFailedError,
  RestoreDeadlineExceededError,
  VerificationFailedError,
} from "../../../packages/core/src/restore/errors.ts";
import type { RestorePlan, RestoreRequest } from "../../../packages/core/src/restore/types.ts";
import type {
  Deployment,
  KubeObject,
  KubeOps,
  ObjectMeta,
  VeleroPlural,
  WorkloadPlural,
} from "../../../packages/core/src/velero/kube.ts";
import { labelValue, restoreName } from "../../../packages/core/src/velero/naming.ts";
import { RESTARTED_AT } from "../../../packages/core/src/velero/restore.ts";

const ACCOUNT = "123456789012";
const RESTORE_ID = "Drill_7";
const MARK = labelValue(RESTORE_ID);
const START = new Date("2026-11-26T10:00:00.000Z");
const AUTH = "Kots 6f1d4c8e9a572f0d3c1e7b42-auth";
const DB_HOST = "gitpod-dr-gitpod-r-drill-7.c0ffee.eu-central-1.rds.amazonaws.com";
const OURS = { "gitpod-dr/created-by": "gitpod-dr" };

type Json = Record<string, unknown>;

/** RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Json =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const matches = (labels: Record<string, string> | undefined, selector?: string) =>
  (selector ?? "")
    .split(",")
    .filter(Boolean)
    .every((kv) => {
      const [k, v] = kv.split("=");
      return labels?.[k as string] === v;
    });

/**
 * An in-memory cluster implementing KubeOps: Velero objects, ConfigMaps, Deployments and StatefulSets
 * (JSON merge patches applied), Secrets. Every call is logged in order.
 */
class FakeKube implements KubeOps {
  readonly calls: string[] = [];
  /** Every workload patch, in order. */
  readonly patches: { plural: WorkloadPlural; name: string; patch: Json }[] = [];
  readonly velero = new Map<string, KubeObject>();
  readonly configMaps = new Map<string, { metadata: ObjectMeta; data?: Record<string, string> }>();
  readonly workloads: Record<WorkloadPlural, Deployment[]> = { deployments: [], statefulsets: [] };
  readonly secrets = new Map<string, Record<string, string>>();
  readonly pods: KubeObject[] = [];

  put(plural: VeleroPlural, object: KubeObject): void {
    this.velero.set(`${plural}/${object.metadata.namespace}/${object.metadata.name}`, object);
  }
  workload(plural: WorkloadPlural, name: string): Deployment | undefined {
    return this.workloads[plural].find((w) => w.metadata.name === name);
  }
  async veleroApiServed() {
    return true;
  }
  async getVelero(plural: VeleroPlural, namespace: string, name: string) {
    this.calls.push(`getVelero ${plural}/${namespace}/${name}`);
    return structuredClone(this.velero.get(`${plural}/${namespace}/${name}`));
  }
  async listVelero(plural: VeleroPlural, namespace: string, labelSelector?: string) {
    this.calls.push(`listVelero ${plural}/${namespace}`);
    return [...this.velero.entries()]
      .filter(
        ([key, o]) => key.startsWith(`${plural}/${namespace}/`) && matches(o.metadata.labels, labelSelector),
      )
      .map(([, o]) => structuredClone(o));
  }
  async createVelero(plural: VeleroPlural, namespace: string, body: KubeObject) {
    this.calls.push(`createVelero ${plural}/${namespace}/${body.metadata.name}`);
    const existing = this.velero.get(`${plural}/${namespace}/${body.metadata.name}`);
    if (existing) return { created: false, object: structuredClone(existing) };
    this.put(plural, structuredClone({ ...body, metadata: { ...body.metadata, namespace } }));
    return { created: true, object: body };
  }
  async getDeployment(namespace: string, name: string) {
    return this.workloads.deployments.find(
      (w) => w.metadata.name === name && w.metadata.namespace === namespace,
    );
  }
  async listDeployments(namespace: string, labelSelector?: string) {
    return this.listWorkloads("deployments", namespace, labelSelector);
  }
  async patchDeployment(namespace: string, name: string, patch: Json) {
    return this.patchWorkload("deployments", namespace, name, patch);
  }
  async listWorkloads(plural: WorkloadPlural, namespace: string, labelSelector?: string) {
    this.calls.push(`listWorkloads ${plural}/${namespace}?${labelSelector ?? ""}`);
    return this.workloads[plural]
      .filter((w) => w.metadata.namespace === namespace && matches(w.metadata.labels, labelSelector))
      .map((w) => structuredClone(w));
  }
  async patchWorkload(plural: WorkloadPlural, namespace: string, name: string, patch: Json) {
    this.calls.push(`patchWorkload ${plural}/${namespace}/${name}`);
    this.patches.push({ plural, name, patch: structuredClone(patch) });
    const list = this.workloads[plural];
    const i = list.findIndex((w) => w.metadata.name === name && w.metadata.namespace === namespace);
    if (i < 0) throw new Error(`${plural} ${name} not found`);
    const patched = mergePatch(list[i], patch) as Deployment;
    patched.metadata.generation = (patched.metadata.generation ?? 1) + 1;
    list[i] = patched;
    return structuredClone(patched);
  }
  async getSecretData(namespace: string, name: string) {
    this.calls.push(`getSecretData ${namespace}/${name}`);
    const data = this.secrets.get(`${namespace}/${name}`);
    return data && { ...data };
  }
  async patchSecretData(namespace: string, name: string, data: Record<string, string>) {
    this.calls.push(`patchSecretData ${namespace}/${name}`);
    const key = `${namespace}/${name}`;
    const existing = this.secrets.get(key);
    if (!existing) throw new Error(`secret ${key} not found`);
    this.secrets.set(key, { ...existing, ...data });
  }
  async createConfigMap(namespace: string, body: { metadata: ObjectMeta; data: Record<string, string> }) {
    this.calls.push(`createConfigMap ${namespace}/${body.metadata.name}`);
    const key = `${namespace}/${body.metadata.name}`;
    const existing = this.configMaps.get(key);
    if (existing) return { created: false, object: existing };
    this.configMaps.set(key, structuredClone(body));
    return { created: true, object: body };
  }
  async listPods(namespace: string, labelSelector?: string) {
    this.calls.push(`listPods ${namespace}?${labelSelector ?? ""}`);
    return this.pods
      .filter((p) => p.metadata.namespace === namespace && matches(p.metadata.labels, labelSelector))
      .map((p) => structuredClone(p));
  }
  async patchPod(namespace: string, name: string, patch: Json) {
    this.calls.push(`patchPod ${namespace}/${name}`);
    const i = this.pods.findIndex((p) => p.metadata.name === name && p.metadata.namespace === namespace);
    if (i < 0) throw new Error(`pod ${name} not found`);
    this.pods[i] = mergePatch(this.pods[i], patch) as KubeObject;
  }
}

function config(application: Json = {}, fields: { storageBuckets?: string[] } = {}): RestoreJobConfig {
  return restoreJobConfigSchema.parse({
    stage: "test",
    account: ACCOUNT,
    regions: { primary: "eu-west-1", dr: "eu-central-1" },
    database: { identifier: "gitpod", kind: "instance" },
    application: {
      cluster: "gitpod",
      veleroNamespace: "velero",
      storageLocation: "default",
      includedNamespaces: ["gitpod"],
      includeKotsBackups: false,
    },
    storageBuckets: fields.storageBuckets ?? [],
    restore: {
      targets: {
        primary: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-db",
            securityGroupIds: ["sg-01234567"],
          },
        },
      },
      application,
    },
  });
}

const request: RestoreRequest = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: "eu-central-1",
  tiers: ["database", "images", "application"],
  dryRun: false,
  allowPartialRestore: false,
  dbSnapshot: "latest",
  veleroBackup: "latest",
  executionStartedAt: START.toISOString(),
};

const plan: RestorePlan = {
  restoreId: RESTORE_ID,
  target: "dr",
  region: "eu-central-1",
  tiers: request.tiers,
  application: {
    cluster: "gitpod-dr",
    veleroNamespace: "velero",
    backup: { name: "gitpod-dr-2026-11-26-0200" },
    restoreName: restoreName(RESTORE_ID),
    modifierName: `${restoreName(RESTORE_ID)}-hold`,
    adopt: false,
  },
  cluster: "gitpod-dr",
  endpoints: {
    bucket: { name: "gitpod-workspaces-replica", region: "eu-central-1" },
    registry: `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
  },
  checked: [],
};

let kube: FakeKube;
let clock: Date;
let askedClusters: string[];
const cloudwatch = new CloudWatchClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
});
const cloudwatchMock = mockClient(cloudwatch);

function deps(fields: Partial<ApplicationDeps> = {}): ApplicationDeps {
  return {
    kube: async (cluster, region) => {
      askedClusters.push(`${cluster}@${region}`);
      return kube;
    },
    cloudwatch: () => cloudwatch,
    fetch: globalThis.fetch,
    now: () => clock,
    ...fields,
  };
}

beforeEach(() => {
  kube = new FakeKube();
  clock = new Date(START);
  askedClusters = [];
  cloudwatchMock.reset();
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const minutesLater = (minutes: number) => new Date(START.getTime() + minutes * 60_000);

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

describe("startApplicationRestore", () => {
  beforeEach(() => {
    kube.put("backups", {
      metadata: { name: "gitpod-dr-2026-11-26-0200", namespace: "velero", labels: OURS },
      status: { phase: "Completed" },
    });
  });

  it("creates the hold ConfigMap, then the Restore naming it as its resource modifier", async () => {
    const cfg = config();
    const started = await startApplicationRestore(request, plan, cfg, deps());

    expect(started).toEqual({
      name: restoreName(RESTORE_ID),
      backupName: "gitpod-dr-2026-11-26-0200",
      created: true,
      startedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual(["gitpod-dr@eu-central-1"]);
    const creates = kube.calls.filter((c) => c.startsWith("create"));
    expect(creates).toEqual([
      `createConfigMap velero/${plan.application?.modifierName}`,
      `createVelero restores/velero/${restoreName(RESTORE_ID)}`,
    ]);
    const configMap = kube.configMaps.get(`velero/${plan.application?.modifierName}`);
    expect(configMap?.metadata.labels).toEqual({ ...OURS, "gitpod-dr/restore-id": MARK });
    expect(configMap?.data).toEqual({ "hold.yaml": holdModifier("gitpod", { app: "gitpod" }, RESTORE_ID) });

    const restore = kube.velero.get(`restores/velero/${restoreName(RESTORE_ID)}`);
    expect(restore?.spec).toEqual({
      backupName: "gitpod-dr-2026-11-26-0200",
      includedNamespaces: ["gitpod"],
      existingResourcePolicy: "none",
      resourceModifier: { kind: "configmap", name: plan.application?.modifierName },
    });
    expect(restore?.metadata.labels).toEqual({ ...OURS, "gitpod-dr/restore-id": MARK });
  });

  it("run again: adopts both, creating nothing new", async () => {
    await startApplicationRestore(request, plan, config(), deps());
    clock = minutesLater(5);
    const again = await startApplicationRestore(request, plan, config(), deps());
    expect(again).toMatchObject({ name: restoreName(RESTORE_ID), created: false });
    expect(kube.configMaps.size).toBe(1);
    expect([...kube.velero.keys()].filter((k) => k.startsWith("restores/"))).toHaveLength(1);
  });

  it("fails when the plan has no application restore", async () => {
    const { application: _, ...noApp } = plan;
    const error = await rejection(startApplicationRestore(request, noApp, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(kube.calls).toEqual([]);
  });
});

describe("checkApplicationRestore", () => {
  const started: ApplicationStarted = {
    name: restoreName(RESTORE_ID),
    backupName: "gitpod-dr-2026-11-26-0200",
    created: true,
    startedAt: START.toISOString(),
  };
  const setStatus = (status: Json) =>
    kube.put("restores", {
      metadata: { name: started.name, namespace: "velero", labels: OURS },
      spec: { backupName: started.backupName },
      status,
    });

  it("Completed: done, with the counts", async () => {
    setStatus({ phase: "Completed", warnings: 2, errors: 0 });
    clock = minutesLater(12);
    const status = await checkApplicationRestore(request, plan, started, config(), deps());
    expect(status).toEqual({
      name: started.name,
      backupName: started.backupName,
      phase: "Completed",
      warnings: 2,
      errors: 0,
      done: true,
      partial: false,
      startedAt: START.toISOString(),
      finishedAt: minutesLater(12).toISOString(),
    });
  });

  it("PartiallyFailed with allowPartialRestore: done and partial", async () => {
    setStatus({ phase: "PartiallyFailed", warnings: 1, errors: 4 });
    const status = await checkApplicationRestore(
      { ...request, allowPartialRestore: true },
      plan,
      started,
      config(),
      deps(),
    );
    expect(status).toMatchObject({ phase: "PartiallyFailed", done: true, partial: true, errors: 4 });
  });

  it("PartiallyFailed without allowPartialRestore: ApplicationRestoreFailed saying how to accept it", async () => {
    setStatus({ phase: "PartiallyFailed", warnings: 1, errors: 4 });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.name).toBe("ApplicationRestoreFailed");
    expect(error.message).toBe(
      `Velero restore ${started.name} from backup ${started.backupName} ended PartiallyFailed (1 warning(s), 4 error(s)): see \`velero restore describe ${started.name} --details\` and \`velero restore logs ${started.name}\`. Start again with allowPartialRestore: true and the same restoreId to accept it`,
    );
  });

  it("Failed: ApplicationRestoreFailed with the failure reason", async () => {
    setStatus({ phase: "Failed", failureReason: "error getting backup: not found", errors: 1 });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.message).toContain(
      `ended Failed: error getting backup: not found (0 warning(s), 1 error(s))`,
    );
  });

  it("FailedValidation: ApplicationRestoreFailed with the validation errors", async () => {
    setStatus({ phase: "FailedValidation", validationErrors: ["backup not found", "invalid modifier"] });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.message).toContain("ended FailedValidation: backup not found; invalid modifier");
  });

  it("InProgress: not done before the deadline, RestoreDeadlineExceeded after it", async () => {
    setStatus({ phase: "InProgress" });
    clock = minutesLater(59);
    const status = await checkApplicationRestore(request, plan, started, config(), deps());
    expect(status).toMatchObject({ phase: "InProgress", done: false, partial: false });
    expect(status.finishedAt).toBeUndefined();

    clock = minutesLater(61);
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.name).toBe("RestoreDeadlineExceeded");
    expect(error.message).toContain(
      `Velero restore ${started.name} (InProgress) is not done after 60 minutes`,
    );
    expect(error.message).toContain("restore.application.restoreDeadlineMinutes");
  });
});

describe("pointApplication", () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string };
  let received: { method?: string; path?: string; headers: IncomingHttpHeaders; body: string }[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      req.on("end", () => {
        received.push({ method: req.method, path: req.url, headers: req.headers, body });
        res.writeHead(answer.status, { "Content-Type": "application/json" });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    received = [];
    answer = { status: 200, body: "{}" };
  });

  const kots = (extra: Json = {}) =>
    config({ point: { kind: "kots", url: `${url}/`, appSlug: "gitpod", namespace: "kots", ...extra } });

  it("secret mode: patches the database Secret's host and port, keeping its other keys", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal", port: "3306", password: "pw" });
    const { endpoints: _, ...rest } = plan;
    const primaryPlan = { ...rest, endpoints: {} };

    const result = await pointApplication(primaryPlan, { endpoint: DB_HOST, port: 5432 }, config(), deps());

    expect(result).toEqual({
      mode: "secret",
      values: { host: DB_HOST, port: "5432" },
      databaseHost: DB_HOST,
      databasePort: 5432,
      startedAt: START.toISOString(),
    });
    expect(kube.secrets.get("gitpod/database")).toEqual({ host: DB_HOST, port: "5432", password: "pw" });
  });

  it("secret mode into the DR region: the database is pointed, the bucket and registry are reported as not set", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal", port: "3306" });

    const result = await pointApplication(plan, { endpoint: DB_HOST, port: 5432 }, config(), deps());

    expect(result).toMatchObject({ mode: "secret", values: { host: DB_HOST, port: "5432" } });
    expect(result.notSet).toEqual([
      "bucket gitpod-workspaces-replica (eu-central-1)",
      `registry ${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
    ]);
    expect(kube.secrets.get("gitpod/database")).toEqual({ host: DB_HOST, port: "5432" });
  });

  it("secret mode with custom keys and a missing Secret: PointApplicationFailed, nothing patched", async () => {
    const cfg = config({ databaseSecret: { name: "db-conn", hostKey: "DB_HOST", portKey: "DB_PORT" } });
    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, cfg, deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain(`Secret gitpod/db-conn does not exist`);
    expect(kube.calls.filter((c) => c.startsWith("patch"))).toEqual([]);

    kube.secrets.set("gitpod/db-conn", { DB_HOST: "old" });
    const result = await pointApplication(plan, { endpoint: DB_HOST }, cfg, deps());
    expect(result.values).toEqual({ DB_HOST: DB_HOST });
    expect(kube.secrets.get("gitpod/db-conn")).toEqual({ DB_HOST: DB_HOST });
  });

  it("nothing to point at (no database, no endpoints): mode none, the cluster untouched", async () => {
    const result = await pointApplication({ ...plan, endpoints: {} }, undefined, config(), deps());
    expect(result).toEqual({
      mode: "none",
      values: {},
      startedAt: START.toISOString(),
      finishedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual([]);
  });

  it("kots mode: posts the ConfigValues to kotsadm with its auth string, merged and deployed", async () => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    cloudwatchMock.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: "b0", Timestamps: [minutesLater(-10)], Values: [30] }],
    });
    const cfg = config(
      { point: { kind: "kots", url: `${url}/`, namespace: "kots", keys: { dbPort: "db_port" } } },
      { storageBuckets: ["gitpod-workspace-backups"] },
    );

    const result = await pointApplication(plan, { endpoint: DB_HOST, port: 5432 }, cfg, deps());

    const values = {
      db_host: DB_HOST,
      db_port: "5432",
      store_s3_bucket: "gitpod-workspaces-replica",
      store_region: "eu-central-1",
      reg_url: `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
    };
    expect(result).toEqual({
      mode: "kots",
      values,
      databaseHost: DB_HOST,
      databasePort: 5432,
      replicationLag: [
        { bucket: "gitpod-workspace-backups", seconds: 630, measuredAt: minutesLater(-10).toISOString() },
      ],
      startedAt: START.toISOString(),
    });
    expect(received).toHaveLength(1);
    const call = received[0];
    expect(call?.method).toBe("POST");
    expect(call?.path).toBe("/api/v1/app/gitpod/config/values");
    expect(call?.headers.authorization).toBe(AUTH);
    expect(call?.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(call?.body ?? "") as Json;
    expect(body).toEqual({
      configValues: expect.any(String),
      merge: true,
      deploy: true,
      skipPreflights: true,
      // Based on the deployed version, never on a downloaded-but-undeployed one (or, old kotsadm, the latest).
      current: true,
      sequence: -1,
    });
    const document = parse(Buffer.from(body.configValues as string, "base64").toString("utf8"));
    expect(document).toEqual({
      apiVersion: "kots.io/v1beta1",
      kind: "ConfigValues",
      spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
    });
    // KOTS renders the Secret: the function does not patch it.
    expect(kube.calls.filter((c) => c.startsWith("patch"))).toEqual([]);
    expect(askedClusters).toEqual(["gitpod-dr@eu-central-1"]);
  });

  it.each([
    [401, "kotsadm refused its own auth string", false, true],
    // kotsadm's own refusal (500 with an error, e.g. an unknown config key) will not change: not retried.
    [500, "the config values were refused", false, true],
    // A 5xx without kotsadm's error (a proxy, kotsadm restarting): retried.
    [502, "the config values were refused", true, false],
  ])(
    "kots mode, kotsadm answering %d: PointApplicationFailed without the auth string",
    async (status, hint, retryable, kotsError) => {
      kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
      const text = `refused Authorization ${AUTH} for gitpod`;
      answer = { status, body: kotsError ? JSON.stringify({ error: text }) : text };

      const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, kots(), deps()));

      expect(error).toBeInstanceOf(PointApplicationFailedError);
      expect(error.name).toBe("PointApplicationFailed");
      expect(error.message).toContain(
        `kotsadm answered ${status} to setting db_host, store_s3_bucket, store_region, reg_url (${hint})`,
      );
      expect(error.message).toContain("refused Authorization [redacted] for gitpod");
      expect(error.message).not.toContain(AUTH);
      expect(error.message).not.toContain("6f1d4c8e9a572f0d3c1e7b42");
      expect((error as PointApplicationFailedError).retryable).toBe(retryable);
      expect(received).toHaveLength(1);
    },
  );

  it("kots mode without kotsadm's auth string: PointApplicationFailed, nothing posted", async () => {
    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, kots(), deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain("Secret kots/kotsadm-authstring has no kotsadm-authstring key");
    expect(received).toEqual([]);
  });

  it("kots mode, kotsadm unreachable: a retryable PointApplicationFailed", async () => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    const failing: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: failing })),
    );
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain(`Unable to reach the kotsadm API at ${url}/: fetch failed`);
    expect((error as PointApplicationFailedError).retryable).toBe(true);
  });
});

describe("checkPointed", () => {
  const point: PointResult = {
    mode: "kots",
    values: { db_host: DB_HOST },
    databaseHost: DB_HOST,
    startedAt: START.toISOString(),
  };

  it("done once the Secret names the restored host", async () => {
    kube.secrets.set("gitpod/database", { host: DB_HOST });
    clock = minutesLater(2);
    expect(await checkPointed(plan, point, config(), deps())).toEqual({
      done: true,
      secretHost: DB_HOST,
      startedAt: START.toISOString(),
      finishedAt: minutesLater(2).toISOString(),
    });
  });

  it("not done while it names the old host; RestoreDeadlineExceeded after configDeadlineMinutes", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal" });
    clock = minutesLater(14);
    expect(await checkPointed(plan, point, config(), deps())).toEqual({
      done: false,
      secretHost: "old-db.internal",
      startedAt: START.toISOString(),
    });

    clock = minutesLater(16);
    const error = await rejection(checkPointed(plan, point, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.message).toContain(`Secret gitpod/database naming ${DB_HOST} (it names old-db.internal)`);
    expect(error.message).toContain("restore.application.configDeadlineMinutes");
  });

  it("nothing pointed: done without asking the cluster", async () => {
    const result = await checkPointed(
      plan,
      { mode: "none", values: {}, startedAt: START.toISOString() },
      config(),
      deps(),
    );
    expect(result.done).toBe(true);
    expect(askedClusters).toEqual([]);
  });
});

/**
 * A workload as Velero restores it (held: marked and its pod template gated, its pods Pending) or as it
 * was (not held, a settled rollout).
 */
function workload(
  name: string,
  fields: {
    replicas?: number;
    held?: string;
    gated?: boolean;
    labels?: Record<string, string>;
    namespace?: string;
  } = {},
): Deployment {
  const replicas = fields.replicas ?? 1;
  const gated = fields.gated ?? fields.held !== undefined;
  const running = gated ? 0 : replicas;
  return {
    metadata: {
      name,
      namespace: fields.namespace ?? "gitpod",
      labels: fields.labels ?? { app: "gitpod" },
      generation: 1,
      ...(fields.held ? { annotations: { [HELD_ANNOTATION]: fields.held, other: "kept" } } : {}),
    },
    spec: {
      replicas,
      template: {
        metadata: { annotations: { "example.com/kept": "yes" } },
        spec: {
          containers: [{ name, image: `example.com/${name}:1.0.0` }],
          ...(gated ? { schedulingGates: [{ name: HOLD_GATE }] } : {}),
        },
      },
    },
    status: {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: running,
      availableReplicas: running,
    },
  };
}

const gatesOf = (w: Deployment | undefined) =>
  (w?.spec?.template?.spec as { schedulingGates?: unknown[] } | undefined)?.schedulingGates;

describe("redeploy", () => {
  beforeEach(() => {
    kube.workloads.deployments.push(
      workload("server", { replicas: 3, held: MARK }),
      workload("proxy", { held: MARK }),
      workload("dashboard", { replicas: 2 }),
      // The mark was lost (a manual edit), the gate is still there: held all the same.
      workload("gate-only", { replicas: 2, gated: true }),
      workload("kotsadm", { replicas: 1, labels: { app: "kotsadm" } }),
    );
    kube.workloads.statefulsets.push(workload("messagebus", { held: MARK }));
  });

  it("releases the pods the restore gated (a StatefulSet does not replace a pod that never became ready), only our gate", async () => {
    const pod = (
      name: string,
      gates: string[],
      labels: Record<string, string> = { app: "gitpod" },
    ): KubeObject => ({
      metadata: {
        name,
        namespace: "gitpod",
        labels,
        annotations: gates.length > 0 ? { [HELD_ANNOTATION]: MARK } : {},
      },
      spec: gates.length > 0 ? { schedulingGates: gates.map((g) => ({ name: g })) } : {},
    });
    kube.pods.push(
      pod("messagebus-0", [HOLD_GATE]),
      pod("orphan", [HOLD_GATE, "example.com/quota"]),
      pod("dashboard-abc", []),
      pod("kotsadm-xyz", [HOLD_GATE], { app: "kotsadm" }),
    );

    const result = await redeploy(request, plan, config(), deps());

    expect(result.released).toEqual([
      "deployment/gate-only",
      "deployment/proxy",
      "deployment/server",
      "statefulset/messagebus",
      "pod/messagebus-0",
      "pod/orphan",
    ]);
    const byName = (name: string) => kube.pods.find((p) => p.metadata.name === name);
    expect(byName("messagebus-0")?.spec).toEqual({});
    expect(byName("messagebus-0")?.metadata.annotations).toEqual({});
    // Another controller's gate stays: only ours is removed (removal is the one change Kubernetes allows).
    expect(byName("orphan")?.spec).toEqual({ schedulingGates: [{ name: "example.com/quota" }] });
    // Pods outside the hold selector and pods without our gate are not touched.
    expect(byName("kotsadm-xyz")?.spec).toEqual({ schedulingGates: [{ name: HOLD_GATE }] });
    expect(kube.calls.filter((c) => c.startsWith("patchPod"))).toEqual([
      "patchPod gitpod/messagebus-0",
      "patchPod gitpod/orphan",
    ]);
  });

  it("releases held workloads (gate and mark removed, replicas kept), restarts every matching one", async () => {
    const before = structuredClone(kube.workloads);
    const result = await redeploy(request, plan, config(), deps());

    const restartedAt = "2026-11-26T10:00:00Z";
    expect(result).toEqual({
      restartedAt,
      released: ["deployment/gate-only", "deployment/proxy", "deployment/server", "statefulset/messagebus"],
      restarted: [
        "deployment/dashboard",
        "deployment/gate-only",
        "deployment/proxy",
        "deployment/server",
        "statefulset/messagebus",
      ],
      startedAt: START.toISOString(),
    });
    expect(result).not.toHaveProperty("scaled");
    for (const [plural, name, replicas] of [
      ["deployments", "server", 3],
      ["deployments", "proxy", 1],
      ["deployments", "gate-only", 2],
      ["deployments", "dashboard", 2],
      ["statefulsets", "messagebus", 1],
    ] as const) {
      const w = kube.workload(plural, name);
      // The hold never touched the replica counts, and neither does its release.
      expect(w?.spec?.replicas, name).toBe(replicas);
      expect(gatesOf(w), name).toBeUndefined();
      expect(w?.metadata.annotations?.[HELD_ANNOTATION], name).toBeUndefined();
      expect(w?.spec?.template?.metadata?.annotations, name).toEqual({
        "example.com/kept": "yes",
        [RESTARTED_AT]: restartedAt,
      });
      // The rest of the pod template is kept.
      expect(w?.spec?.template?.spec, name).toEqual({
        containers: [{ name, image: `example.com/${name}:1.0.0` }],
      });
    }
    expect(kube.workload("deployments", "server")?.metadata.annotations).toEqual({ other: "kept" });

    // One merge patch per workload: held ones get the release (null removes the gate list and the mark).
    const patchOf = (name: string) => kube.patches.find((p) => p.name === name)?.patch;
    expect(kube.patches).toHaveLength(5);
    expect(patchOf("server")).toEqual({
      metadata: { annotations: { [HELD_ANNOTATION]: null } },
      spec: {
        template: {
          metadata: { annotations: { [RESTARTED_AT]: restartedAt } },
          spec: { schedulingGates: null },
        },
      },
    });
    // Not held: only the restart.
    expect(patchOf("dashboard")).toEqual({
      spec: { template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } } },
    });
    expect(kube.workload("deployments", "dashboard")?.metadata.annotations).toBeUndefined();

    // Not matching the hold selector: untouched.
    expect(kube.workload("deployments", "kotsadm")).toEqual(
      before.deployments.find((w) => w.metadata.name === "kotsadm"),
    );
    expect(kube.calls).not.toContain("patchWorkload deployments/gitpod/kotsadm");
  });

  it("run twice: nothing more is released, every matching workload is restarted again", async () => {
    await redeploy(request, plan, config(), deps());
    clock = minutesLater(1);
    const again = await redeploy(request, plan, config(), deps());
    expect(again.released).toEqual([]);
    expect(again.restarted).toHaveLength(5);
    expect(kube.patches.slice(5).every((p) => Object.keys(p.patch).join() === "spec")).toBe(true);
    const server = kube.workload("deployments", "server");
    expect(server?.spec?.replicas).toBe(3);
    expect(gatesOf(server)).toBeUndefined();
    expect(server?.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBe("2026-11-26T10:01:00Z");
  });

  it("a workload still marked by another (earlier) restore id is released as well", async () => {
    kube.workloads.deployments.push(workload("foreign", { replicas: 2, held: "other-restore" }));
    const result = await redeploy(request, plan, config(), deps());
    expect(result.released).toContain("deployment/foreign");
    const foreign = kube.workload("deployments", "foreign");
    expect(foreign?.spec?.replicas).toBe(2);
    expect(gatesOf(foreign)).toBeUndefined();
    expect(foreign?.metadata.annotations).toEqual({ other: "kept" });
  });

  it("a gate of someone else is left in place (only gitpod-dr/held is the hold)", async () => {
    const other = workload("other-gate", { replicas: 1 });
    (other.spec?.template?.spec as Json).schedulingGates = [{ name: "example.com/quota" }];
    kube.workloads.deployments.push(other);
    const result = await redeploy(request, plan, config(), deps());
    expect(result.released).not.toContain("deployment/other-gate");
    expect(result.restarted).toContain("deployment/other-gate");
    expect(gatesOf(kube.workload("deployments", "other-gate"))).toEqual([{ name: "example.com/quota" }]);
  });

  it("no cluster in the plan: nothing released or restarted, no cluster asked", async () => {
    const { cluster: _, ...noCluster } = plan;
    const result = await redeploy(request, noCluster, config(), deps());
    expect(result).toEqual({
      restartedAt: "2026-11-26T10:00:00Z",
      released: [],
      restarted: [],
      startedAt: START.toISOString(),
      finishedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual([]);
  });
});

describe("checkRollout", () => {
  const redeployed = {
    restartedAt: "2026-11-26T10:00:00Z",
    released: [],
    restarted: [],
    startedAt: START.toISOString(),
  };

  it("done when every matching workload is updated and available", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    kube.workloads.statefulsets.push(workload("messagebus", { replicas: 1 }));
    clock = minutesLater(3);
    const status = await checkRollout(plan, redeployed, config(), deps());
    expect(status).toEqual({
      done: true,
      workloads: [
        { name: "deployment/server", desired: 3, updated: 3, available: 3, done: true },
        { name: "statefulset/messagebus", desired: 1, updated: 1, available: 1, done: true },
      ],
      startedAt: START.toISOString(),
      finishedAt: minutesLater(3).toISOString(),
    });
  });

  it("a StatefulSet updated OnDelete is done when its pods serve, though it never reports them updated", async () => {
    const sts = workload("openvsx-proxy", { replicas: 2 });
    (sts.spec as Json).updateStrategy = { type: "OnDelete" };
    (sts.status as Json).updatedReplicas = 0;
    const rolling = workload("messagebus", { replicas: 2 });
    (rolling.status as Json).updatedReplicas = 0;
    kube.workloads.statefulsets.push(sts, rolling);
    const status = await checkRollout(plan, redeployed, config(), deps());
    expect(status.workloads).toEqual([
      { name: "statefulset/messagebus", desired: 2, updated: 0, available: 2, done: false },
      { name: "statefulset/openvsx-proxy", desired: 2, updated: 0, available: 2, done: true },
    ]);
    expect(status.done).toBe(false);
  });

  it("not done before rolloutDeadlineMinutes; RestoreDeadlineExceeded naming the waiting workloads after", async () => {
    const slow = workload("server", { replicas: 3 });
    (slow.status as Json).availableReplicas = 1;
    kube.workloads.deployments.push(slow);
    clock = minutesLater(29);
    expect((await checkRollout(plan, redeployed, config(), deps())).done).toBe(false);

    clock = minutesLater(31);
    const error = await rejection(checkRollout(plan, redeployed, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.message).toContain(
      "The rollout (deployment/server 1/3 available) is not done after 30 minutes",
    );
    expect(error.message).toContain("restore.application.rolloutDeadlineMinutes");
  });

  it("no matching workload is never done", async () => {
    clock = minutesLater(31);
    const error = await rejection(checkRollout(plan, redeployed, config(), deps()));
    expect(error.message).toContain("no workload matches restore.application.holdSelector");
  });
});

describe("verify", () => {
  it("passes with every workload available and the health URL answering 200", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    const asked: string[] = [];
    const ok: typeof fetch = async (input) => {
      asked.push(String(input));
      return new Response("ok", { status: 200 });
    };
    const cfg = config({ healthUrl: "https://gitpod.example.com/api/version" });
    clock = minutesLater(1);
    expect(await verify(plan, cfg, deps({ fetch: ok }))).toEqual({
      workloads: 1,
      health: { url: "https://gitpod.example.com/api/version", status: 200 },
      startedAt: minutesLater(1).toISOString(),
      finishedAt: minutesLater(1).toISOString(),
    });
    expect(asked).toEqual(["https://gitpod.example.com/api/version"]);
  });

  it("a workload still held: VerificationFailed naming it", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }), workload("proxy", { held: MARK }));
    const error = await rejection(verify(plan, config(), deps()));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.name).toBe("VerificationFailed");
    expect(error.message).toBe("Not serving: deployment/proxy is still held (scheduling gate)");
  });

  it("held by its gate alone, even with every pod counted available: still held", async () => {
    const gated = workload("server", { replicas: 2, gated: true });
    Object.assign(gated.status as Json, { readyReplicas: 2, availableReplicas: 2 });
    kube.workloads.deployments.push(gated);
    const error = await rejection(verify(plan, config(), deps()));
    expect(error.message).toBe("Not serving: deployment/server is still held (scheduling gate)");
  });

  it("a workload not yet available: VerificationFailed with its counts", async () => {
    const slow = workload("server", { replicas: 3 });
    Object.assign(slow.status as Json, { readyReplicas: 1, availableReplicas: 1 });
    kube.workloads.deployments.push(slow);
    const error = await rejection(verify(plan, config(), deps()));
    expect(error.message).toBe("Not serving: deployment/server 1/3 available");
  });

  it("a workload at zero replicas, not held, does not fail verification (its desired count is 0)", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }), workload("idle", { replicas: 0 }));
    expect(await verify(plan, config(), deps())).toMatchObject({ workloads: 2 });
  });

  it("the health URL answering other than 200: a retryable VerificationFailed", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    const unavailable: typeof fetch = async () => new Response("down", { status: 503 });
    const cfg = config({ healthUrl: "https://gitpod.example.com/api/version" });
    const error = await rejection(verify(plan, cfg, deps({ fetch: unavailable })));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.message).toBe("https://gitpod.example.com/api/version answered 503, not 200");
    expect((error as VerificationFailedError).retryable).toBe(true);
  });

  it("no matching workload: VerificationFailed", async () => {
    const error = await rejection(verify(plan, config(), deps()));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.message).toBe(
      "No Deployment or StatefulSet in gitpod matches app=gitpod: the application is not running",
    );
  });
});
