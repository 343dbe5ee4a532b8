/**
 * The restore state machine end to end: the definition stacks/Restore.ts synthesizes (validated with
 * asl-validator) run by aws-local-stepfunctions, every Task bound to the REAL restore handler (as a Lambda
 * invocation would run it) against the Kubernetes API simulator, the fake kotsadm, the fake RDS and mocked
 * EKS/EC2/CloudWatch/SNS. See packages/sim/src/restore/harness.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { KubeObject, ObjectStore, StoreEvent } from "../../packages/sim/src/kube/server.ts";
import {
  CREDENTIALS,
  KOTSADM_AUTHSTRING,
  RESTORE_USER,
  secretData,
} from "../../packages/sim/src/kube/velero-cluster.ts";
import { restoresTo } from "../../packages/sim/src/rds/fake-rds.ts";
import { manifestDigest, pushImage, randomLayer } from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import {
  BACKED_UP_REPLICAS,
  BACKUP,
  DATABASE,
  DR,
  DR_REGISTRY,
  HELD_ANNOTATION,
  HOLD_GATE,
  KOTS_PROXY_REPLICAS,
  NEWEST_SNAPSHOT,
  OLD_DB,
  OLDER_SNAPSHOT,
  PRIMARY,
  REPLICA_BUCKET,
  RestoreWorld,
  type RunResult,
  runRestore,
  SOURCE_BUCKET,
  type SynthesizedRestore,
  stageConfig,
  synthesizeRestore,
  validateAsl,
} from "../../packages/sim/src/restore/harness.ts";

let machine: SynthesizedRestore;

beforeAll(async () => {
  // Synthesized once with a placeholder kotsadm URL: the definition does not depend on it.
  machine = await synthesizeRestore(stageConfig());
}, 120_000);

const run = (world: RestoreWorld, input: unknown, options: Parameters<typeof runRestore>[3] = {}) =>
  runRestore(world, machine.definition, input, options);

/** No credential reaches any message: kotsadm's auth string, the AWS secret key and session token, the DB password. */
function expectNoSecrets(world: RestoreWorld): void {
  const text = JSON.stringify(world.published());
  for (const secret of [
    KOTSADM_AUTHSTRING,
    KOTSADM_AUTHSTRING.split(" ")[1] as string,
    CREDENTIALS.secretAccessKey,
    CREDENTIALS.sessionToken as string,
    OLD_DB.password,
  ]) {
    expect(text).not.toContain(secret);
  }
}

/** RDS commands that create something, in both regions. */
const rdsWrites = (world: RestoreWorld) => [...restoresTo(world.rdsPrimary), ...restoresTo(world.rdsDr)];
/** Kubernetes requests that change something, in both clusters. */
const kubeWrites = (world: RestoreWorld) =>
  [...world.primary.api.requests, ...world.dr.api.requests].filter((r) => r.method !== "GET");
/** Objects the restore identity changed (store events by its user), in both clusters. */
const restoreUserChanges = (world: RestoreWorld) =>
  [...world.primary.api.store.events, ...world.dr.api.store.events].filter(
    (e) => e.actor === RESTORE_USER.name,
  );

/** The scheduling gates of a workload's pod template, by name. */
const gatesOf = (obj: KubeObject): string[] =>
  (
    ((obj.spec?.template as { spec?: { schedulingGates?: { name?: string }[] } } | undefined)?.spec
      ?.schedulingGates ?? []) as { name?: string }[]
  ).map((g) => g.name ?? "");
const isAppDeployment = (e: StoreEvent) =>
  e.kind === "Deployment" && e.namespace === "gitpod" && e.object.metadata.labels?.app === "gitpod";
const counter = (obj: KubeObject, key: string) => (obj.status?.[key] as number | undefined) ?? 0;

/**
 * The hold, from the simulator's event log: Velero restored the app=gitpod Deployments at their backed-up
 * replica counts, marked and gated; the database Secret named `endpoint` before any of them was released
 * (its pod template without the gate), and no pod of theirs was ready or available before that Secret
 * event. Returns the seqs.
 */
function expectHeldUntilPointed(
  store: ObjectStore,
  endpoint: string,
  restoreId: string,
): { pointedAt: number; releasedAt: number } {
  const restored = store.events.filter(
    (e) => isAppDeployment(e) && e.actor === "velero" && e.verb === "create",
  );
  expect(restored.map((e) => e.name).sort()).toEqual(["proxy", "server"]);
  for (const e of restored) {
    expect(e.object.spec?.replicas, e.name).toBe(
      BACKED_UP_REPLICAS[e.name as keyof typeof BACKED_UP_REPLICAS],
    );
    expect(e.object.spec?.replicas, e.name).toBeGreaterThan(0);
    expect(e.object.metadata.annotations?.[HELD_ANNOTATION], e.name).toBe(restoreId);
    expect(gatesOf(e.object), e.name).toEqual([HOLD_GATE]);
  }
  const pointedAt = store.events.find(
    (e) =>
      e.kind === "Secret" &&
      e.name === "database" &&
      (e.object.data as Record<string, string> | undefined)?.host === b64(endpoint),
  )?.seq as number;
  const releasedAt = store.events.find((e) => isAppDeployment(e) && !gatesOf(e.object).includes(HOLD_GATE))
    ?.seq as number;
  expect(pointedAt).toBeDefined();
  expect(releasedAt).toBeDefined();
  expect(pointedAt).toBeGreaterThan(Math.max(...restored.map((e) => e.seq)));
  expect(pointedAt).toBeLessThan(releasedAt);
  // Held: the Deployment controller created their pods (they stayed Pending), none ready or available.
  const beforePointed = store.events.filter((e) => isAppDeployment(e) && e.seq < pointedAt);
  expect(beforePointed.some((e) => counter(e.object, "updatedReplicas") > 0)).toBe(true);
  for (const e of beforePointed) {
    expect(counter(e.object, "readyReplicas"), `${e.name} at ${e.seq}`).toBe(0);
    expect(counter(e.object, "availableReplicas"), `${e.name} at ${e.seq}`).toBe(0);
    expect(gatesOf(e.object), `${e.name} at ${e.seq}`).toEqual([HOLD_GATE]);
  }
  // The release is the restore identity's (Redeploy), not KOTS's.
  expect(store.events.find((e) => e.seq === releasedAt)?.actor).toBe(RESTORE_USER.name);
  return { pointedAt, releasedAt };
}

/** The end state: every app=gitpod Deployment at `replicas`, all available, none held. */
function expectReleased(store: ObjectStore, replicas: Record<string, number>): void {
  for (const [name, count] of Object.entries(replicas)) {
    const d = store.get("apps/v1", "Deployment", "gitpod", name) as KubeObject;
    expect(d.spec?.replicas, name).toBe(count);
    expect(d.status?.availableReplicas, name).toBe(count);
    expect(d.status?.readyReplicas, name).toBe(count);
    expect(d.metadata.annotations?.[HELD_ANNOTATION], name).toBeUndefined();
    expect(gatesOf(d), name).toEqual([]);
  }
}

const resultOf = (r: RunResult, state: string) => r.calls.filter((c) => c.state === state).at(-1)?.result;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("the synthesized definition", () => {
  it("is valid ASL (asl-validator with path and ARN checks) and names every state the handlers serve", () => {
    const validation = validateAsl(machine.definition);
    expect(validation.errors).toEqual([]);
    expect(validation.isValid).toBe(true);
    expect(machine.definition.StartAt).toBe("Validate input");
    expect(machine.definition.TimeoutSeconds).toBe(360 * 60);
  });
});

describe("a restore of every tier into the primary region ({})", () => {
  let world: RestoreWorld;
  let result: RunResult;
  const restoreId = "happy-1";

  beforeAll(async () => {
    world = await RestoreWorld.start();
    result = await run(world, {}, { name: restoreId, databaseAvailableAtCheck: 3 });
  });
  afterAll(async () => {
    await world.stop();
  });

  it("succeeds at Restore complete, through every step", () => {
    expect(result.status).toBe("SUCCEEDED");
    expect(result.entered.at(-1)).toBe("Restore complete");
    expect(result.calls.filter((c) => c.error)).toEqual([]);
    for (const state of [
      "Validate input",
      "Build plan",
      "Restore database",
      "Restore application",
      "Point application at restored endpoints",
      "Check configuration",
      "Redeploy",
      "Check rollout",
      "Verify",
      "Notify success",
    ]) {
      expect(result.entered).toContain(state);
    }
    expect(result.output).toMatchObject({
      request: { restoreId, target: "primary", region: PRIMARY },
      notified: { messageId: "m-1" },
      verify: { workloads: 2, health: { status: 200 } },
    });
    expect(world.healthHits).toBe(1);
  });

  it('resolves "latest" to the newest available snapshot of gitpod-dr and the newest Completed backup of gitpod-dr', () => {
    expect(resultOf(result, "Validate input")).toMatchObject({
      request: {
        dbSnapshot: "latest",
        database: {
          kind: "instance",
          snapshot: { identifier: NEWEST_SNAPSHOT },
          identifier: world.restoredIdentifier(restoreId),
          adopt: false,
        },
      },
    });
    expect(resultOf(result, "Build plan")).toMatchObject({
      cluster: "gitpod",
      application: { backup: { name: BACKUP }, restoreName: `gitpod-dr-restore-${restoreId}`, adopt: false },
      endpoints: {},
    });
    const db = world.rdsPrimary.database("instance", world.restoredIdentifier(restoreId));
    expect(db?.settings).toMatchObject({
      snapshot: world.rdsPrimary.arn("instance", NEWEST_SNAPSHOT),
      instanceClass: "db.r6g.large",
      subnetGroupName: "gitpod-db",
      deletionProtection: true,
      publiclyAccessible: false,
    });
    expect(db?.tags).toMatchObject({ "gitpod-dr:restore-id": restoreId });
    expect(restoresTo(world.rdsPrimary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
    expect(restoresTo(world.rdsDr)).toEqual([]);
  });

  it("starts the database and the application branches before either finishes", () => {
    const first = (state: string) => result.calls.find((c) => c.state === state);
    const last = (state: string) => result.calls.filter((c) => c.state === state).at(-1);
    const dbStart = first("Restore database")?.startedAt as number;
    const appStart = first("Restore application")?.startedAt as number;
    const dbDone = last("Check database");
    const appDone = last("Check application restore");
    expect(dbDone?.result).toMatchObject({ done: true });
    expect(appDone?.result).toMatchObject({ done: true });
    expect(Math.max(dbStart, appStart)).toBeLessThan(Math.min(dbDone?.endedAt ?? 0, appDone?.endedAt ?? 0));
    // The branches interleave: a Check database ran while Restore application was still running.
    const appStarted = first("Restore application");
    expect(
      result.calls.some(
        (c) =>
          c.state === "Check database" &&
          c.startedAt > (appStarted?.startedAt ?? 0) &&
          c.startedAt < (appStarted?.endedAt ?? 0),
      ),
    ).toBe(true);
    expect(result.calls.filter((c) => c.state === "Check database")).toHaveLength(3);
    // And nothing was pointed before both were done.
    expect(first("Point application at restored endpoints")?.startedAt).toBeGreaterThan(
      Math.max(dbDone?.endedAt ?? 0, appDone?.endedAt ?? 0),
    );
  });

  it("publishes one success message with the snapshot, the backup, the new endpoint and the durations", () => {
    const messages = world.published();
    expect(messages).toHaveLength(1);
    const [m] = messages;
    const endpoint = world.rdsPrimary.database("instance", world.restoredIdentifier(restoreId))?.endpoint;
    expect(m?.subject).toBe(`gitpod-dr restoresim: restore ${restoreId} complete`);
    expect(m?.message).toContain(`restored from snapshot ${NEWEST_SNAPSHOT}`);
    expect(m?.message).toContain(`New endpoint: ${endpoint?.address}:${endpoint?.port}`);
    expect(m?.message).toContain(`from backup ${BACKUP} ended Completed (0 warning(s), 0 error(s))`);
    expect(m?.message).toContain(`db_host=${endpoint?.address}`);
    expect(m?.message).toMatch(/Durations:\n {2}- Restore database: \d+s\n {2}- Restore application: \d+s\n/);
    expect(m?.message).toMatch(/ {2}- Point application at restored endpoints: \d+s/);
    expect(m?.message).toMatch(/ {2}- Redeploy: \d+s/);
    expect(m?.message).toMatch(/ {2}- Verify: \d+s/);
    expect(m?.message).toMatch(/ {2}- Total: \d+s/);
    expect(m?.message).not.toContain("Object storage");
    expectNoSecrets(world);
  });

  it("points the application at the restored database before any held Deployment is scaled up", () => {
    const store = world.primary.api.store;
    const endpoint = world.rdsPrimary.database("instance", world.restoredIdentifier(restoreId))?.endpoint
      ?.address as string;
    const { pointedAt, releasedAt } = expectHeldUntilPointed(store, endpoint, restoreId);
    // KOTS's deploy scaled proxy up to its manifest's count after rendering the Secret, keeping the gate.
    const kotsScale = store.events.find((e) => isAppDeployment(e) && e.actor === "kotsadm");
    expect(kotsScale?.name).toBe("proxy");
    expect(kotsScale?.object.spec?.replicas).toBe(KOTS_PROXY_REPLICAS);
    expect(gatesOf(kotsScale?.object as KubeObject)).toEqual([HOLD_GATE]);
    expect(kotsScale?.seq as number).toBeGreaterThan(pointedAt);
    expect(kotsScale?.seq as number).toBeLessThan(releasedAt);
    expect(resultOf(result, "Redeploy")).toMatchObject({
      released: ["deployment/proxy", "deployment/server"],
      restarted: ["deployment/proxy", "deployment/server"],
    });
    // The end state: the Secret names the new database (password kept), the workloads run, none held.
    expect(secretData(store, "gitpod", "database")).toEqual({ ...OLD_DB, host: endpoint });
    expectReleased(store, { server: BACKED_UP_REPLICAS.server, proxy: KOTS_PROXY_REPLICAS });
    // One config change (the step read kotsadm's versions first: nothing held the values yet).
    const posts = world.kotsadm.calls.filter((c) => c.method === "POST");
    expect(posts).toHaveLength(1);
    expect(world.kotsadm.versions("gitpod")).toHaveLength(2);
    expect(posts[0]).toMatchObject({
      status: 200,
      authorized: true,
      values: { db_host: endpoint },
    });
    expect(world.published()[0]?.message).toContain(
      "Redeployed: 2 workload(s) restarted, released from the hold: deployment/proxy, deployment/server.",
    );
  });
});

describe("a restore into the DR region", () => {
  let world: RestoreWorld;
  afterEach(async () => {
    await world.stop();
  });

  it('{"target":"dr"} restores the DR copy in eu-central-1 into the DR cluster and points at the replica bucket and DR registry', async () => {
    world = await RestoreWorld.start({ kotsadmIn: "dr" });
    const r = await run(world, { target: "dr" }, { name: "dr-1" });
    expect(r.status).toBe("SUCCEEDED");
    const identifier = world.restoredIdentifier("dr-1");
    // The DR region's newest available copy (the newest snapshot's copy is still pending there).
    expect(restoresTo(world.rdsDr)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
    expect(restoresTo(world.rdsPrimary)).toEqual([]);
    const db = world.rdsDr.database("instance", identifier);
    expect(db?.settings).toMatchObject({
      snapshot: world.rdsDr.arn("instance", OLDER_SNAPSHOT),
      securityGroupIds: ["sg-0fedcba9876543210"],
    });
    expect(world.rdsPrimary.database("instance", identifier)).toBeUndefined();
    // The DR cluster got the Velero Restore; the primary one nothing.
    expect(world.dr.api.store.list("velero.io/v1", "Restore", "velero").map((o) => o.metadata.name)).toEqual([
      "gitpod-dr-restore-dr-1",
    ]);
    expect(world.primary.api.store.list("velero.io/v1", "Restore", "velero")).toEqual([]);
    expect(restoreUserChanges(world).every((e) => world.dr.api.store.events.includes(e))).toBe(true);
    // KOTS got the DR endpoints.
    const endpoint = db?.endpoint?.address as string;
    expect(endpoint).toContain(DR);
    expect(world.kotsadm.calls.find((c) => c.method === "POST")?.values).toEqual({
      db_host: endpoint,
      store_s3_bucket: REPLICA_BUCKET,
      store_region: DR,
      reg_url: DR_REGISTRY,
    });
    expect(secretData(world.dr.api.store, "gitpod", "database")?.host).toBe(endpoint);
    const [m] = world.published();
    expect(world.published()).toHaveLength(1);
    expect(m?.message).toContain(`into the dr region ${DR} is complete`);
    expect(m?.message).toContain(`restored from snapshot ${OLDER_SNAPSHOT}`);
    expect(m?.message).toContain(
      `store_s3_bucket=${REPLICA_BUCKET}, store_region=${DR}, reg_url=${DR_REGISTRY}`,
    );
    expect(m?.message).toContain("Object storage (replica bucket)");
    expect(m?.message).toMatch(
      new RegExp(
        `- ${SOURCE_BUCKET}: the last canary known to have replicated was written at most \\d+m \\d+s ago \\(between \\d+m \\d+s and`,
      ),
    );
    expectNoSecrets(world);
  });

  it('{"target":"dr"} is InvalidInput when no DR target is configured, and nothing is created', async () => {
    world = await RestoreWorld.start({ stage: { noDr: true } });
    const r = await run(world, { target: "dr" });
    expect(r.status).toBe("FAILED");
    expect(r.error).toBe("InvalidInput");
    const [m] = world.published();
    expect(m?.message).toContain('FAILED at "Validate input"');
    expect(m?.message).toContain('target: no "dr" target is configured');
    expect(rdsWrites(world)).toEqual([]);
    expect(kubeWrites(world)).toEqual([]);
  });
});

describe('a dry run ({"dryRun":true})', () => {
  let world: RestoreWorld;
  afterEach(async () => {
    await world.stop();
  });

  it("publishes the plan, changes nothing and succeeds at Dry run: nothing changed", async () => {
    world = await RestoreWorld.start();
    const r = await run(world, { dryRun: true }, { name: "dry-1" });
    expect(r.status).toBe("SUCCEEDED");
    expect(r.entered.at(-1)).toBe("Dry run: nothing changed");
    expect(r.entered).not.toContain("Restore tiers");
    expect(rdsWrites(world)).toEqual([]);
    expect(kubeWrites(world)).toEqual([]);
    expect(restoreUserChanges(world)).toEqual([]);
    expect(world.kotsadm.calls).toEqual([]);
    const messages = world.published();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toBe("gitpod-dr restoresim: restore dry-1 plan (dry run)");
    expect(messages[0]?.message).toContain("Nothing was changed");
    expect(messages[0]?.message).toContain(`restore snapshot ${NEWEST_SNAPSHOT}`);
    expect(messages[0]?.message).toContain(`into DB instance ${world.restoredIdentifier("dry-1")}`);
    expect(messages[0]?.message).toContain(`from backup ${BACKUP}`);
    expect(messages[0]?.message).toContain("Images: not restored");
    expectNoSecrets(world);
  });
});

describe("invalid input", () => {
  let world: RestoreWorld;
  beforeAll(async () => {
    world = await RestoreWorld.start();
    // A database with the identifier a restore would take, not created by it.
    world.rdsPrimary.databases.push({
      kind: "instance",
      identifier: "taken-db",
      encrypted: false,
      status: "available",
      tags: { team: "platform" },
    });
  });
  afterAll(async () => {
    await world.stop();
  });
  beforeEach(() => {
    world.sns.resetHistory();
  });

  const cases: [string, unknown, string[]][] = [
    ["dryRun of the wrong type", { dryRun: "yes" }, ["dryRun: must be true or false"]],
    ["restoreId of the wrong type", { restoreId: 42 }, ["restoreId: must be a string"]],
    ["an unknown field", { targetRegion: "eu-west-1" }, ["targetRegion"]],
    ["an empty dbSnapshot", { dbSnapshot: "" }, ["dbSnapshot: must not be empty"]],
    ["an empty veleroBackup", { veleroBackup: "" }, ["veleroBackup: must not be empty"]],
    ["a bad target", { target: "moon" }, ['target: must be "primary" or "dr"']],
    ["a bad tier", { tiers: ["files"] }, ["tiers.0: must be one of database, images, application"]],
    ["a tier twice", { tiers: ["database", "database"] }, ["tiers: must not name a tier twice"]],
    ["no tier", { tiers: [] }, ["tiers: must name at least one tier"]],
    [
      "a tier that is not configured",
      { tiers: ["images"] },
      ["tiers: images are not configured for restore"],
    ],
    [
      "a snapshot id that does not exist",
      { dbSnapshot: "gitpod-dr-gitpod-db-2020-01-01-0300" },
      ["dbSnapshot: Snapshot gitpod-dr-gitpod-db-2020-01-01-0300 does not exist in eu-west-1"],
    ],
    [
      "a target identifier taken by another database",
      { targetDbIdentifier: "taken-db" },
      ["targetDbIdentifier: taken-db exists and was not created by restore"],
    ],
    [
      "the source database as the target",
      { targetDbIdentifier: DATABASE },
      [`targetDbIdentifier: ${DATABASE} is the source database itself`],
    ],
    [
      "a snapshot without the database tier",
      { tiers: ["application"], dbSnapshot: NEWEST_SNAPSHOT },
      ["dbSnapshot: given, but tiers does not include database"],
    ],
    [
      "a Velero backup that does not exist (found by Build plan)",
      { veleroBackup: "no-such-backup" },
      ["veleroBackup: "],
    ],
    // Inputs that are not an object at all: the caught error replaces them ("Input rejected").
    ["a string instead of an object", "restore everything", ["(root)"]],
    ["a list instead of an object", ["database"], ["(root)"]],
    // JSON null is a valid execution input; it used to be read as {} and start a full restore.
    ["null instead of an object", null, ["the input must be a JSON object (got null)"]],
    ["an input whose failed field is a string", { failed: "yes" }, ["failed"]],
    [
      "several problems at once",
      { dryRun: 1, target: "moon", tiers: "database" },
      ["dryRun: must be true or false", 'target: must be "primary" or "dr"', "tiers: must be a list"],
    ],
  ];

  it.each(cases)(
    "%s: fails with InvalidInput naming every problem, and creates nothing",
    async (_what, input, problems) => {
      const before = { rds: rdsWrites(world).length, kube: kubeWrites(world).length };
      const r = await run(world, input);
      expect(r.status).toBe("FAILED");
      expect(r.error).toBe("InvalidInput");
      expect(r.entered).not.toContain("Restore tiers");
      const messages = world.published();
      expect(messages).toHaveLength(1);
      const message = messages[0]?.message ?? "";
      expect(message).toContain("Error: InvalidInput");
      for (const problem of problems) expect(message).toContain(problem);
      expect(message).toContain("Nothing had been created by this restore.");
      expect(message).toContain("Fix the input (every problem is listed above)");
      expect(r.cause).toContain("Invalid restore input");
      expect(rdsWrites(world).length).toBe(before.rds);
      expect(kubeWrites(world).length).toBe(before.kube);
      expectNoSecrets(world);
    },
  );
});

describe("failures inside a tier", () => {
  let world: RestoreWorld;
  beforeEach(async () => {
    world = await RestoreWorld.start();
  });
  afterEach(async () => {
    await world.stop();
  });

  it("a database restore RDS will not finish (incompatible-parameters) fails at Check database with DatabaseRestoreFailed", async () => {
    const r = await run(
      world,
      {},
      {
        name: "dbfail-1",
        hooks: {
          "Check database": (event, ctx) => {
            const id = (event.database as { identifier: string }).identifier;
            ctx.world.rdsPrimary.settle("instance", id, "incompatible-parameters");
          },
        },
      },
    );
    expect(r.status).toBe("FAILED");
    expect(r.error).toBe("DatabaseRestoreFailed");
    expect(r.cause).toContain("Check database: The restored database");
    expect(r.entered).not.toContain("Point application at restored endpoints");
    const messages = world.published();
    expect(messages).toHaveLength(1);
    const m = messages[0];
    expect(m?.subject).toBe("gitpod-dr restoresim: restore dbfail-1 FAILED at Check database");
    expect(m?.message).toContain('FAILED at "Check database"');
    expect(m?.message).toContain("Error: DatabaseRestoreFailed");
    expect(m?.message).toContain(`${world.restoredIdentifier("dbfail-1")} is incompatible-parameters`);
    expect(m?.message).toContain(
      `DB instance ${world.restoredIdentifier("dbfail-1")} in ${PRIMARY} (incompatible-parameters, deletion protection on)`,
    );
    expect(m?.message).toContain('"restoreId": "dbfail-1"');
    expectNoSecrets(world);
  });

  it("a database that never becomes available fails at its deadline with RestoreDeadlineExceeded", async () => {
    const started = new Date(Date.now() - 121 * 60_000).toISOString();
    const r = await run(
      world,
      {},
      {
        name: "deadline-1",
        hooks: {
          // RDS never finishes; the restore started 121 minutes ago (deadlineMinutes is 120).
          "Check database": (event) => ({
            ...event,
            started: { ...(event.started as object), startedAt: started },
          }),
        },
      },
    );
    expect(r.status).toBe("FAILED");
    expect(r.error).toBe("RestoreDeadlineExceeded");
    expect(r.calls.filter((c) => c.state === "Check database")).toHaveLength(1);
    const [m] = world.published();
    expect(m?.message).toContain('FAILED at "Check database"');
    expect(m?.message).toContain("is not done after 120 minutes (restore.database.deadlineMinutes)");
    expect(m?.message).toContain(
      `DB instance ${world.restoredIdentifier("deadline-1")} in ${PRIMARY} (creating`,
    );
  });

  it("a PartiallyFailed Velero restore fails at Check application restore without allowPartialRestore", async () => {
    world.primary.api.velero.planRestore("*", [
      { phase: "InProgress" },
      { phase: "PartiallyFailed", status: { warnings: 2, errors: 1 } },
    ]);
    const r = await run(world, {}, { name: "partial-1" });
    expect(r.status).toBe("FAILED");
    expect(r.error).toBe("ApplicationRestoreFailed");
    const [m] = world.published();
    expect(m?.message).toContain('FAILED at "Check application restore"');
    expect(m?.message).toContain("Error: ApplicationRestoreFailed");
    expect(m?.message).toContain("ended PartiallyFailed");
    expect(m?.message).toContain("allowPartialRestore: true");
    expect(m?.message).toContain("Velero Restore velero/gitpod-dr-restore-partial-1 (PartiallyFailed)");
    expect(r.entered).not.toContain("Redeploy");
    expectNoSecrets(world);
  });

  it("a PartiallyFailed Velero restore completes with allowPartialRestore, the counts in the message", async () => {
    world.primary.api.velero.planRestore("*", [
      { phase: "InProgress" },
      { phase: "PartiallyFailed", status: { warnings: 2, errors: 1 } },
    ]);
    const r = await run(world, { allowPartialRestore: true }, { name: "partial-2" });
    expect(r.status).toBe("SUCCEEDED");
    const status = world.primary.api.store.get(
      "velero.io/v1",
      "Restore",
      "velero",
      "gitpod-dr-restore-partial-2",
    )?.status as { warnings?: number; errors?: number };
    const [m] = world.published();
    expect(m?.message).toContain(
      `ended PartiallyFailed (${status.warnings ?? 0} warning(s), ${status.errors ?? 0} error(s))`,
    );
    expect(status.warnings ?? 0).toBeGreaterThan(0);
    expect(m?.message).toContain("PartiallyFailed was accepted (allowPartialRestore)");
  });

  it("a rerun with the same restoreId after a failure adopts the DB instance and the Velero Restore, and completes", async () => {
    world.primary.api.velero.planRestore("*", [
      { phase: "InProgress" },
      { phase: "PartiallyFailed", status: { warnings: 1, errors: 1 } },
    ]);
    const first = await run(world, { restoreId: "again-1" }, { name: "attempt-1" });
    expect(first.status).toBe("FAILED");
    expect(first.error).toBe("ApplicationRestoreFailed");
    expect(restoresTo(world.rdsPrimary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);

    const second = await run(
      world,
      { restoreId: "again-1", allowPartialRestore: true },
      { name: "attempt-2" },
    );
    expect(second.status).toBe("SUCCEEDED");
    expect(resultOf(second, "Validate input")).toMatchObject({ request: { database: { adopt: true } } });
    expect(resultOf(second, "Build plan")).toMatchObject({ application: { adopt: true } });
    expect(resultOf(second, "Restore database")).toMatchObject({ created: false });
    expect(resultOf(second, "Restore application")).toMatchObject({ created: false });
    // One database, one Velero Restore: nothing created twice.
    expect(restoresTo(world.rdsPrimary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
    expect(
      world.primary.api.store.list("velero.io/v1", "Restore", "velero").map((o) => o.metadata.name),
    ).toEqual(["gitpod-dr-restore-again-1"]);
    const restorePosts = world.primary.api.requests.filter(
      (q) => q.method === "POST" && q.path.endsWith("/restores") && q.status === 201,
    );
    expect(restorePosts).toHaveLength(1);
    const messages = world.published();
    expect(messages.map((m) => m.subject)).toEqual([
      "gitpod-dr restoresim: restore again-1 FAILED at Check application restore",
      "gitpod-dr restoresim: restore again-1 complete",
    ]);
    expect(messages[1]?.message).toContain(`${world.restoredIdentifier("again-1")} restored from snapshot`);
    expectNoSecrets(world);
  });
});

describe("pointing without KOTS (restore.application.point.kind secret)", () => {
  let world: RestoreWorld;
  afterEach(async () => {
    await world.stop();
  });

  it("patches the database Secret before Redeploy releases the held workloads", async () => {
    world = await RestoreWorld.start({ stage: { point: { kind: "secret" } } });
    const r = await run(world, {}, { name: "secret-1" });
    expect(r.status).toBe("SUCCEEDED");
    const store = world.primary.api.store;
    const endpoint = world.rdsPrimary.database("instance", world.restoredIdentifier("secret-1"))?.endpoint;
    const patched = store.events.find(
      (e) =>
        e.kind === "Secret" && e.name === "database" && e.actor === RESTORE_USER.name && e.verb === "patch",
    );
    // A JSON merge patch of the Secret's data (the object API also names the object in the body).
    expect(patched?.patch).toMatchObject({
      data: { host: b64(endpoint?.address ?? ""), port: b64(String(endpoint?.port)) },
    });
    const { pointedAt } = expectHeldUntilPointed(store, endpoint?.address ?? "", "secret-1");
    expect(patched?.seq).toBe(pointedAt);
    expect(resultOf(r, "Redeploy")).toMatchObject({ released: ["deployment/proxy", "deployment/server"] });
    expect(resultOf(r, "Redeploy")).not.toHaveProperty("scaled");
    // No KOTS: the backed-up replica counts are the ones that run.
    expectReleased(store, BACKED_UP_REPLICAS);
    expect(world.kotsadm.calls).toEqual([]);
    const [m] = world.published();
    // The new host is named, not redacted (redact() once took "Secret: host=…" for a secret value).
    expect(m?.message).toContain(
      `Pointed through the database Secret. Values set: host=${endpoint?.address}, port=${endpoint?.port}`,
    );
    expect(m?.message).toContain(`New endpoint: ${endpoint?.address}:${endpoint?.port}`);
    expect(m?.message).toContain(
      "Redeployed: 2 workload(s) restarted, released from the hold: deployment/proxy, deployment/server.",
    );
    expectNoSecrets(world);
  });
});

describe("the images tier (Ensure images Map)", () => {
  let world: RestoreWorld;
  let primary: RegistryServer;
  let dr: RegistryServer;
  afterEach(async () => {
    await world.stop();
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  // "Ensure image" is the real restore-image handler, against two real docker-registry instances standing
  // in for the primary (the target) and the DR registry (where missing images are copied from).
  it('{"tiers":["images"]} ensures every configured image in the target registry and notifies (tiers only)', async () => {
    [primary, dr] = await Promise.all([startRegistry(), startRegistry()]);
    const references = [
      "gitpod/server:2024.11.0",
      "gitpod/proxy:2024.11.0",
      "gitpod/ws-manager-mk2:2024.11.0",
    ];
    const pushed = new Map<string, string>();
    for (const [i, ref] of references.entries()) {
      const [repo, tag] = ref.split(":") as [string, string];
      const layers = [randomLayer(16 * 1024, { seed: 300 + i })];
      const image = await pushImage(dr.host, repo, tag, { layers });
      pushed.set(ref, image.digest);
      // Only the proxy is missing from the target: it is copied; the others are already there.
      if (!ref.includes("proxy")) await pushImage(primary.host, repo, tag, { layers });
    }
    world = await RestoreWorld.start({
      stage: {
        images: { references, concurrency: 2, insecureRegistries: [primary.host, dr.host] },
        registries: { primary: primary.host, dr: dr.host },
      },
    });
    const r = await run(world, { tiers: ["images"] }, { name: "images-1" });
    expect(r.status).toBe("SUCCEEDED");
    expect(r.entered).toContain("Notify success (tiers only)");
    expect(r.entered).not.toContain("Point application at restored endpoints");
    expect(r.entered).toContain("Database not asked for");
    expect(r.entered).toContain("Application not asked for");
    // End state: every image is in the target registry with the source's digest.
    for (const ref of references) {
      const [repo, tag] = ref.split(":") as [string, string];
      expect(await manifestDigest(primary.host, repo, tag)).toBe(pushed.get(ref));
    }
    const results = r.calls
      .filter((c) => c.state === "Ensure image")
      .map((c) => c.result as { reference: string; status: string });
    expect(results.map((x) => `${x.reference} ${x.status}`).sort()).toEqual(
      references
        .map((ref) => `${primary.host}/${ref} ${ref.includes("proxy") ? "copied" : "present"}`)
        .sort(),
    );
    expect(rdsWrites(world)).toEqual([]);
    expect(kubeWrites(world)).toEqual([]);
    const [m] = world.published();
    expect(m?.message).toContain(`Images: 3 in ${primary.host} (1 copied, 2 already present).`);
    expect(m?.message).not.toContain("Database:");
    expect(m?.message).toMatch(/- Ensure images: \d+s/);
  });
});
