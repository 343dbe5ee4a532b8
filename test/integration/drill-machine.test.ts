/**
 * The drill's synthesized state machine, run locally (aws-local-stepfunctions) with every Task bound to
 * the REAL handler of packages/functions/src/drill.ts / drill-database.ts, against the simulated world
 * (packages/sim/src/drill/world.ts): the fake RDS whose scratch database is a real MariaDB, moto's Secrets
 * Manager and S3, the catalog on dynalite, the Kubernetes simulator with Velero and the drill's RBAC,
 * Debian's docker-registry, SNS captured. Each case asserts the end state: nothing of the drill left in
 * RDS, Secrets Manager or the cluster, the drill's entry in the catalog, and the one SNS message.
 * One synthesis, one moto, one dynalite, one MariaDB and one registry for the file.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import {
  CreateBucketCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { drillSecretName, LABEL_DRILL, TAG_DRILL } from "../../packages/core/src/drill/naming.ts";
import { DRILL_STATES as S } from "../../packages/core/src/drill/states.ts";
import { CREATED_BY_TAG } from "../../packages/core/src/tags.ts";
import { startDynalite } from "../../packages/sim/src/catalog/dynalite.ts";
import { type MariaDb, startMariaDb } from "../../packages/sim/src/drill/mariadb.ts";
import {
  type DrillRun,
  runDrill,
  STARTED_AGO_MS,
  synthesizeDrill,
} from "../../packages/sim/src/drill/run.ts";
import {
  DATABASE,
  DR,
  DrillWorld,
  IMAGE_REPO,
  IMAGE_TAG,
  REPLICA_BUCKET,
  SOURCE_BUCKET,
  STAGE,
  type WorldOptions,
} from "../../packages/sim/src/drill/world.ts";
import { EMPTY_LAYER, pushImage } from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import { useMoto } from "../fixtures/moto.ts";

// The drill connects with the RDS CA bundle; the test's MariaDB has the test CA: the one substitution.
const tls = vi.hoisted(() => ({ ca: "" }));
vi.mock("../../packages/core/src/drill/mysql.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../packages/core/src/drill/mysql.ts")>();
  return {
    ...real,
    connectSql: (e: Parameters<typeof real.connectSql>[0]) =>
      real.connectSql({ ...e, tls: e.tls === "rds" ? { ca: tls.ca } : e.tls }),
  };
});

const moto = useMoto();
let definition: StateMachineDefinition;
let mariadb: MariaDb;
let registry: RegistryServer;
let dynamo: { server: Server; endpoint: string };
let digest = "";
let world: DrillWorld | undefined;

beforeAll(async () => {
  [definition, mariadb, registry, dynamo] = await Promise.all([
    synthesizeDrill(),
    startMariaDb(),
    startRegistry(),
    startDynalite(),
  ]);
  tls.ca = mariadb.caPem;
  digest = (await pushImage(registry.host, IMAGE_REPO, IMAGE_TAG, { layers: [EMPTY_LAYER], scheme: "http" }))
    .digest;
}, 300_000);

afterAll(async () => {
  await Promise.all([
    mariadb?.stop(),
    registry?.stop(),
    new Promise((r) => (dynamo ? dynamo.server.close(r) : r(undefined))),
  ]);
});

afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const KEYS = ["ws/a.tar", "ws/b.tar", "ws/c.tar"];

/** A fresh world: moto emptied, the source bucket replicating to the replica (objects copied as S3 would). */
async function start(options: WorldOptions & { replicaBody?: (key: string) => string } = {}) {
  await moto.reset();
  const source = new S3Client(moto.clientConfig("eu-west-1"));
  const replica = new S3Client(moto.clientConfig(DR));
  for (const [client, bucket, region] of [
    [source, SOURCE_BUCKET, "eu-west-1"],
    [replica, REPLICA_BUCKET, DR],
  ] as const) {
    await client.send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region } }),
    );
    await client.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
  }
  await source.send(
    new PutBucketReplicationCommand({
      Bucket: SOURCE_BUCKET,
      ReplicationConfiguration: {
        Role: "arn:aws:iam::123456789012:role/replication",
        Rules: [
          {
            ID: "all",
            Status: "Enabled",
            Priority: 1,
            Filter: { Prefix: "" },
            DeleteMarkerReplication: { Status: "Disabled" },
            Destination: { Bucket: `arn:aws:s3:::${REPLICA_BUCKET}` },
          },
        ],
      },
    }),
  );
  for (const key of KEYS) {
    await source.send(new PutObjectCommand({ Bucket: SOURCE_BUCKET, Key: key, Body: `body ${key}` }));
    const body = options.replicaBody?.(key) ?? `body ${key}`;
    await replica.send(new PutObjectCommand({ Bucket: REPLICA_BUCKET, Key: key, Body: body }));
  }
  source.destroy();
  replica.destroy();
  world = await DrillWorld.start(
    {
      motoEndpoint: moto.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      mariadb,
      registry: { host: registry.host, digest },
    },
    options,
  );
  return world;
}

const secretsClient = () => new SecretsManagerClient(moto.clientConfig(DR));
const secretNames = async () =>
  ((await secretsClient().send(new ListSecretsCommand({}))).SecretList ?? []).map((s) => s.Name ?? "");

/** Nothing of any drill is left: databases, secrets, namespaces, Velero Restores and hold ConfigMaps. */
async function expectNothingLeft(w: DrillWorld) {
  expect(w.rds.databases.map((d) => d.identifier).filter((i) => i.startsWith("gitpod-dr-drill-"))).toEqual(
    [],
  );
  expect((await secretNames()).filter((n) => n.includes("/drill/"))).toEqual([]);
  const s = w.cluster.store;
  expect(s.list("v1", "Namespace").map((n) => n.metadata.name)).toContain("gitpod");
  expect(
    s
      .list("v1", "Namespace")
      .map((n) => n.metadata.name)
      .filter((n) => n.includes("-drill-")),
  ).toEqual([]);
  expect(s.list("velero.io/v1", "Restore", "velero")).toEqual([]);
  expect(s.list("v1", "ConfigMap", "velero").filter((c) => c.metadata.labels?.[LABEL_DRILL])).toEqual([]);
  // Production untouched: its namespace, its database.
  expect(s.list("apps/v1", "Deployment", "gitpod").length).toBeGreaterThan(0);
}

const idOf = (run: DrillRun) => run.drillId ?? "none";

describe("the drill machine with the real handlers in the simulated account", () => {
  it("happy path: every tier restored into scratch and verified, torn down, one message with the RTO, the entry in the catalog", async () => {
    const w = await start();
    const run = await runDrill(w, definition);

    expect(run.calls.filter((c) => c.error)).toEqual([]);
    expect(run.status).toBe("SUCCEEDED");
    const id = idOf(run);
    const messages = w.published();
    expect(messages).toHaveLength(1);
    const m = messages[0] as { subject: string; message: string };
    expect(m.subject).toBe(`gitpod-dr ${STAGE}: restore drill ${id} passed`);
    expect(m.message).toMatch(/^ {2}database: {4}2\d\.\d min$/m);
    expect(m.message).toMatch(/^ {2}application: 2\d\.\d min$/m);
    expect(m.message).toContain("Database rows: d_b_user 3, d_b_workspace 5, d_b_workspace_instance 8");
    expect(m.message).toMatch(/Application: {3}Completed, \d+ items restored of 6 backed up/);
    expect(m.message).toContain("Images:        1 present in the target registry");
    expect(m.message).toContain(`Objects:       ${SOURCE_BUCKET} 3/3 match`);
    expect(m.message).toContain(`DB instance gitpod-dr-drill-${id}`);
    expect(m.message).toContain(`secret ${drillSecretName(STAGE, id)}`);
    expect(m.message).toContain(`namespace gitpod-drill-${id}`);
    expect(m.message).not.toContain("production-password");
    await expectNothingLeft(w);
    const [entry] = await w.catalog().newest("drill");
    expect(entry).toMatchObject({ drillId: id, succeeded: true, recoveryPointId: expect.any(String) });
    // The database checks ran over mysql2 (utf8mb4) without one of the CJK tables its bundle leaves out
    // (stacks/drill/bundling.ts; Node's CommonJS loader records every file mysql2 evaluated).
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((f) => /[\\/]mysql2[\\/]lib[\\/]/.test(f)).length).toBeGreaterThan(0);
    expect(loaded.filter((f) => /iconv-lite[\\/]encodings[\\/]tables[\\/]/.test(f))).toEqual([]);
    // Measured from the drill's start (dated 20 minutes back) until each tier was verified.
    const started = STARTED_AGO_MS / 1000;
    for (const tier of ["database", "application"] as const) {
      expect(entry?.rto?.[tier], tier).toBeGreaterThanOrEqual(started);
      expect(entry?.rto?.[tier], tier).toBeLessThan(started + 120);
    }
    expect(entry?.rto?.total).toBe(Math.max(entry?.rto?.database ?? 0, entry?.rto?.application ?? 0));
    expect(entry?.rowCounts).toEqual({ d_b_user: 3, d_b_workspace: 5, d_b_workspace_instance: 8 });
    // The scratch database was restored from the recovery point into the drill's settings.
    expect(w.serving.deleted).toEqual([`gitpod-dr-drill-${id}`]);
  }, 120_000);

  it.each<
    [string, string, WorldOptions & { replicaBody?: (k: string) => string }, RegExp, (w: DrillWorld) => void]
  >([
    [
      "the database check",
      S.checkDatabase,
      { rows: { users: 0, workspaces: 5, instances: 8 } },
      /gitpod\.d_b_user has no rows/,
      () => undefined,
    ],
    [
      "the application restore phase",
      S.checkApplication,
      {},
      /ended PartiallyFailed .*drill\.allowPartialRestore is false/,
      (w) =>
        w.cluster.velero.planRestore("*", [
          { phase: "InProgress" },
          { phase: "PartiallyFailed", status: { errors: 1 } },
        ]),
    ],
    [
      "the object sample",
      S.checkObjects,
      { replicaBody: (k) => (k === "ws/b.tar" ? "changed" : `body ${k}`) },
      new RegExp(`${REPLICA_BUCKET}/ws/b\\.tar: size 7 in the replica`),
      () => undefined,
    ],
    [
      "the image digest",
      S.checkImages,
      { imageDigest: `sha256:${"0".repeat(64)}` },
      new RegExp(`digest sha256:0{64} is not in .*/${IMAGE_REPO}`),
      () => undefined,
    ],
  ])(
    "%s failing: teardown, one failure message naming the step and cause, recorded",
    async (_what, step, options, cause, arrange) => {
      const w = await start(options);
      arrange(w);
      const run = await runDrill(w, definition);

      expect(run.status).toBe("FAILED");
      expect(run.error).toBe("DrillVerificationFailed");
      const messages = w.published();
      expect(messages).toHaveLength(1);
      const m = messages[0] as { subject: string; message: string };
      expect(m.subject).toBe(`gitpod-dr ${STAGE}: restore drill ${idOf(run)} FAILED at ${step}`);
      expect(m.message).toContain(`Failed step: ${step}`);
      expect(m.message).toMatch(cause);
      expect(m.message).toContain(`Torn down:   DB instance gitpod-dr-drill-${idOf(run)}`);
      await expectNothingLeft(w);
      const [entry] = await w.catalog().newest("drill");
      expect(entry).toMatchObject({
        drillId: idOf(run),
        succeeded: false,
        failure: { step, error: "DrillVerificationFailed" },
      });
    },
    120_000,
  );

  it.each([
    S.plan,
    S.restoreDatabase,
    S.checkDatabaseRestore,
    S.prepareAccess,
    S.checkDatabase,
    S.restoreApplication,
    S.checkApplication,
    S.checkImages,
    S.checkObjects,
  ])(
    "a failure of %s reaches teardown: nothing left, one failure message",
    async (step) => {
      const w = await start();
      const crash = new Error(`${step} crashed`);
      crash.name = "Sandbox.Timedout";
      const run = await runDrill(w, definition, { faults: { [step]: crash } });

      expect(run.status).toBe("FAILED");
      expect(run.calls.at(-2)?.state).toBe(S.teardown);
      expect(run.calls.at(-1)?.state).toBe(S.finish);
      const messages = w.published();
      expect(messages).toHaveLength(1);
      expect(messages[0]?.message).toContain(`Cause:       ${step} crashed`);
      await expectNothingLeft(w);
      // Recorded as a failure; a drill whose plan failed has no id or recovery point to record.
      const entries = await w.catalog().newest("drill");
      if (step === S.plan) expect(entries).toEqual([]);
      else expect(entries[0]).toMatchObject({ drillId: run.drillId, succeeded: false });
    },
    120_000,
  );

  it("removes an earlier drill's leftovers first (by name and tag), and nothing that is not a drill's", async () => {
    const w = await start();
    const old = "20261129-0400-old111";
    const tags = { [CREATED_BY_TAG.Key]: CREATED_BY_TAG.Value, [TAG_DRILL]: old };
    w.rds.databases.push(
      { kind: "instance", identifier: `gitpod-dr-drill-${old}`, encrypted: true, tags },
      // Named like a drill's, not tagged as ours; and production.
      { kind: "instance", identifier: "gitpod-dr-drill-20261122-0400-zzz999", encrypted: true, tags: {} },
      { kind: "instance", identifier: DATABASE, encrypted: true, tags: {} },
    );
    await secretsClient().send(
      new CreateSecretCommand({
        Name: drillSecretName(STAGE, old),
        SecretString: "{}",
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    const s = w.cluster.store;
    s.put({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: `gitpod-drill-${old}`, labels: { [LABEL_DRILL]: old } },
    });
    s.put({
      apiVersion: "velero.io/v1",
      kind: "Restore",
      metadata: { name: `gitpod-dr-drill-${old}`, namespace: "velero", labels: { [LABEL_DRILL]: old } },
      spec: { backupName: "x" },
    });

    const run = await runDrill(w, definition);

    expect(run.status).toBe("SUCCEEDED");
    expect(run.calls[0]?.state).toBe(S.plan);
    const m = w.published()[0]?.message ?? "";
    expect(m).toContain(
      `Leftovers of earlier drills removed first: DB instance gitpod-dr-drill-${old}, secret ${drillSecretName(STAGE, old)}, Restore velero/gitpod-dr-drill-${old}, namespace gitpod-drill-${old}`,
    );
    expect(w.serving.deleted[0]).toBe(`gitpod-dr-drill-${old}`);
    expect(w.rds.databases.map((d) => d.identifier).sort()).toEqual([
      DATABASE,
      "gitpod-dr-drill-20261122-0400-zzz999",
    ]);
    expect(await secretNames()).toEqual([]);
    expect(s.get("v1", "Namespace", "", `gitpod-drill-${old}`)).toBeUndefined();
  }, 120_000);

  it("a teardown that fails is reported loudly: the drill fails and the message names what is left", async () => {
    const w = await start();
    w.serving.refuseDelete = (id) => id.startsWith("gitpod-dr-drill-") && !id.includes("old");

    const run = await runDrill(w, definition);

    const id = idOf(run);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("DrillTeardownFailed");
    const messages = w.published();
    expect(messages).toHaveLength(1);
    const m = messages[0] as { subject: string; message: string };
    expect(m.subject).toBe(`gitpod-dr ${STAGE}: restore drill ${id} FAILED at ${S.teardown}`);
    expect(m.message).toContain(`DB instance gitpod-dr-drill-${id}: InvalidDBInstanceState`);
    expect(m.message).toMatch(/left 1 resource\(s\) behind/);
    // What could go, went; the database is still there and the message says so.
    expect(w.rds.database("instance", `gitpod-dr-drill-${id}`)).toBeDefined();
    // Its namespace was deleted (the namespace controller finishes it on its own).
    expect(w.cluster.store.get("v1", "Namespace", "", `gitpod-drill-${id}`)?.status).toEqual({
      phase: "Terminating",
    });
    expect((await w.catalog().newest("drill"))[0]).toMatchObject({
      drillId: id,
      succeeded: false,
      failure: { step: S.teardown, error: "DrillTeardownFailed" },
    });
  }, 120_000);
});
