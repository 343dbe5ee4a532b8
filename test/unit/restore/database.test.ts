import { RestoreDBClusterFromSnapshotCommand } from "@aws-sdk/client-rds";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { snapshotApi } from "../../../packages/core/src/rds/api.ts";
import type { DatabaseKind, Snapshot } from "../../../packages/core/src/rds/types.ts";
import {
  checkDatabaseRestore,
  resolveRestoreSnapshot,
  restoredIdentifier,
  startDatabaseRestore,
  TAG_RESTORE_ID,
} from "../../../packages/core/src/restore/database.ts";
import {
  DatabaseRestoreFailedError,
  RestoreSnapshotNotFoundError,
  RestoreTargetTakenError,
} from "../../../packages/core/src/restore/errors.ts";
import type { RestoreTargetSettings } from "../../../packages/core/src/restore/types.ts";
import {
  ago,
  copyOf,
  DR_KEY_SAME_ACCOUNT,
  DR_REGION,
  type FakeRdsRegion,
  foreign,
  gitpodInstance,
  ours,
  PRIMARY_CMK,
  PRIMARY_REGION,
  rdsWorld,
  restoresTo,
  TIME,
} from "../../../packages/sim/src/rds/fake-rds.ts";

const RESTORE_KMS_KEY = `arn:aws:kms:${PRIMARY_REGION}:111111111111:key/5555eeee-restore-cmk`;

const SETTINGS: RestoreTargetSettings = {
  instanceClass: "db.r6g.large",
  subnetGroupName: "gitpod-restore-subnets",
  securityGroupIds: ["sg-0aaa", "sg-0bbb"],
  parameterGroupName: "gitpod-params",
  clusterParameterGroupName: "gitpod-cluster-params",
};

/** The fake regions, each with the parameter groups SETTINGS names (RDS refuses a restore naming one it lacks). */
function rdsWorldWithGroups() {
  const w = rdsWorld();
  for (const region of [w.primary, w.dr]) {
    region.parameterGroups.set("gitpod-params", "mysql8.0");
    region.clusterParameterGroups.set("gitpod-cluster-params", "aurora-mysql8.0");
  }
  return w;
}

/** What a restore with `restoreId` from `snapshot` tags the database with. */
const restoreTags = (restoreId: string, snapshotArn: string) => ({
  "gitpod-dr:created-by": "gitpod-dr",
  "gitpod-dr:restore-id": restoreId,
  "gitpod-dr:restored-from": snapshotArn,
});

/** Adds an available gitpod-dr snapshot of `gitpod` to the region and returns it as the API reads it. */
async function snapshotIn(
  region: FakeRdsRegion,
  kind: DatabaseKind,
  engine = kind === "instance" ? "mysql" : "aurora-postgresql",
): Promise<Snapshot> {
  const made = region.add(kind, ours("gitpod", ago(1), { engine }));
  return resolveRestoreSnapshot(snapshotApi(kind), region.client, "gitpod", made.identifier);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe.each(["instance", "cluster"] as const)("resolveRestoreSnapshot (%s snapshots)", (kind) => {
  const api = snapshotApi(kind);

  it("latest: the newest available snapshot gitpod-dr made of this database in the client's region", async () => {
    const { primary } = rdsWorldWithGroups();
    const twoDays = primary.add(kind, ours("gitpod", ago(2)));
    const yesterday = primary.add(kind, ours("gitpod", ago(1)));
    primary.add(kind, ours("gitpod", ago(3)));
    // Newer, but not what a restore may use: still creating, failed, somebody else's, another database's,
    // and an automated one.
    primary.add(kind, ours("gitpod", TIME, { status: "creating" }));
    primary.add(kind, ours("gitpod", ago(0, 6), { status: "failed" }));
    primary.add(kind, foreign("before-upgrade", "gitpod", ago(0, 2)));
    primary.add(kind, ours("gitpod-staging", ago(0, 3)));
    primary.add(kind, ours("gitpod", ago(0, 4), { type: "automated", identifier: "rds:gitpod-2026-11-25" }));
    // A tagged snapshot of the other API family is never a candidate.
    primary.add(kind === "instance" ? "cluster" : "instance", ours("gitpod", ago(0, 5)));

    const chosen = await resolveRestoreSnapshot(api, primary.client, "gitpod", "latest");

    expect(chosen).toMatchObject({
      identifier: yesterday.identifier,
      arn: primary.arn(kind, yesterday.identifier),
      region: PRIMARY_REGION,
      status: "available",
      databaseIdentifier: "gitpod",
    });
    expect(twoDays.identifier < yesterday.identifier).toBe(true);
  });

  it("latest in the DR region: the newest available DR copy, never a copy still in progress", async () => {
    const { primary, dr } = rdsWorldWithGroups();
    const threeDays = primary.add(kind, ours("gitpod", ago(3)));
    const yesterday = primary.add(kind, ours("gitpod", ago(1)));
    const today = primary.add(kind, ours("gitpod", ago(0, 1)));
    dr.add(kind, copyOf(primary, kind, threeDays));
    dr.add(kind, copyOf(primary, kind, yesterday));
    dr.add(kind, copyOf(primary, kind, today, { status: "pending" }));
    dr.add(kind, foreign("manual-dr", "gitpod", TIME));

    const chosen = await resolveRestoreSnapshot(api, dr.client, "gitpod", "latest");

    expect(chosen).toMatchObject({
      identifier: yesterday.identifier,
      arn: dr.arn(kind, yesterday.identifier),
      region: DR_REGION,
      kmsKeyId: DR_KEY_SAME_ACCOUNT,
      sourceSnapshotArn: primary.arn(kind, yesterday.identifier),
    });
  });

  it("a named snapshot: that one, even one gitpod-dr did not make", async () => {
    const { primary } = rdsWorldWithGroups();
    primary.add(kind, ours("gitpod", ago(1)));
    primary.add(kind, foreign("before-upgrade", "gitpod", ago(5)));

    const chosen = await resolveRestoreSnapshot(api, primary.client, "gitpod", "before-upgrade");

    expect(chosen).toMatchObject({ identifier: "before-upgrade", arn: primary.arn(kind, "before-upgrade") });
  });

  it("a named snapshot in upper case: found, as RDS stores identifiers lower-cased and matches any case", async () => {
    const { primary, dr } = rdsWorldWithGroups();
    const made = primary.add(kind, ours("gitpod", ago(1)));
    dr.add(kind, copyOf(primary, kind, made));

    const chosen = await resolveRestoreSnapshot(api, dr.client, "gitpod", made.identifier.toUpperCase());

    expect(made.identifier).toBe("gitpod-dr-gitpod-2026-11-25-0300");
    expect(chosen).toMatchObject({ identifier: made.identifier, arn: dr.arn(kind, made.identifier) });
  });

  it("latest in the DR region: ordered by the window the RDS job recorded, not by when the copy was made", async () => {
    const { primary, dr } = rdsWorldWithGroups();
    const twoDays = primary.add(kind, ours("gitpod", ago(2)));
    const yesterday = primary.add(kind, ours("gitpod", ago(1)));
    // The older window's copy was made last (a copy that had failed, made again by a later run): its
    // SnapshotCreateTime, the copy time for a cluster snapshot copy, is the newest.
    dr.add(kind, copyOf(primary, kind, yesterday, { copiedAt: ago(1, -1) }));
    dr.add(kind, copyOf(primary, kind, twoDays, { copiedAt: ago(0, 1) }));

    const chosen = await resolveRestoreSnapshot(api, dr.client, "gitpod", "latest");

    expect(chosen.identifier).toBe(yesterday.identifier);
  });

  it("latest: a gitpod-dr snapshot without a window tag is ordered by its SnapshotCreateTime", async () => {
    const { primary } = rdsWorldWithGroups();
    const tagged = primary.add(kind, ours("gitpod", ago(2)));
    const { "gitpod-dr:window": _, ...untaggedTags } = ours("gitpod", ago(1)).tags;
    const untagged = primary.add(kind, ours("gitpod", ago(1), { tags: untaggedTags }));

    expect((await resolveRestoreSnapshot(api, primary.client, "gitpod", "latest")).identifier).toBe(
      untagged.identifier,
    );
    expect(tagged.tags["gitpod-dr:window"]).toBe(ago(2).toISOString());
  });

  it("a named snapshot that does not exist in the region: RestoreSnapshotNotFound naming it and the region", async () => {
    const { primary, dr } = rdsWorldWithGroups();
    const only = primary.add(kind, ours("gitpod", ago(1)));

    const missing = await rejection(
      resolveRestoreSnapshot(api, primary.client, "gitpod", "no-such-snapshot"),
    );
    // It exists in the primary region only: the DR region does not have it.
    const notInDr = await rejection(resolveRestoreSnapshot(api, dr.client, "gitpod", only.identifier));

    expect(missing).toBeInstanceOf(RestoreSnapshotNotFoundError);
    expect(missing.name).toBe("RestoreSnapshotNotFound");
    expect(missing.message).toBe(`Snapshot no-such-snapshot does not exist in ${PRIMARY_REGION}`);
    expect(notInDr.name).toBe("RestoreSnapshotNotFound");
    expect(notInDr.message).toBe(`Snapshot ${only.identifier} does not exist in ${DR_REGION}`);
  });

  it.each(["creating", "failed", "copying"])(
    "a named snapshot that is %s: RestoreSnapshotNotFound naming it, the region and its status",
    async (status) => {
      const { primary } = rdsWorldWithGroups();
      const snapshot = primary.add(kind, ours("gitpod", ago(1), { status }));

      const error = await rejection(
        resolveRestoreSnapshot(api, primary.client, "gitpod", snapshot.identifier),
      );

      expect(error).toBeInstanceOf(RestoreSnapshotNotFoundError);
      expect(error.message).toBe(
        `Snapshot ${snapshot.identifier} in ${PRIMARY_REGION} is ${status}, not available`,
      );
    },
  );

  it("latest with no usable snapshot: RestoreSnapshotNotFound saying to name one", async () => {
    const { primary } = rdsWorldWithGroups();
    primary.add(kind, ours("gitpod", TIME, { status: "creating" }));
    primary.add(kind, foreign("before-upgrade", "gitpod", ago(1)));
    primary.add(kind, ours("gitpod-staging", ago(1)));

    const error = await rejection(resolveRestoreSnapshot(api, primary.client, "gitpod", "latest"));

    expect(error).toBeInstanceOf(RestoreSnapshotNotFoundError);
    expect(error.message).toBe(
      `No available snapshot of gitpod made by gitpod-dr exists in ${PRIMARY_REGION}: name one with dbSnapshot`,
    );
  });

  it("latest in an empty region: RestoreSnapshotNotFound naming the region", async () => {
    const { dr } = rdsWorldWithGroups();

    const error = await rejection(resolveRestoreSnapshot(api, dr.client, "gitpod", "latest"));

    expect(error.name).toBe("RestoreSnapshotNotFound");
    expect(error.message).toContain(`exists in ${DR_REGION}: name one with dbSnapshot`);
  });
});

describe("restoredIdentifier", () => {
  const VALID = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
  const databases = fc
    .stringMatching(/^[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,10}){0,4}$/)
    .filter((d) => d.length <= 63);
  const restoreIds = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);

  it("is `gitpod-dr-<db>-r-<restore id>` lower-cased, with runs of other characters as one hyphen", () => {
    expect(restoredIdentifier("gitpod", "Drill_2026--11__26")).toBe("gitpod-dr-gitpod-r-drill-2026-11-26");
    expect(restoredIdentifier("gitpod", "b9c3e0a4-6f1d-4c8e-9a57-2f0d3c1e7b42")).toBe(
      "gitpod-dr-gitpod-r-b9c3e0a4-6f1d-4c8e-9a57-2f0d3c1e7b42",
    );
    expect(restoredIdentifier("gitpod", "___")).toBe("gitpod-dr-gitpod-r");
  });

  it("is deterministic, at most 63 characters and a valid RDS identifier for any restore id", () => {
    fc.assert(
      fc.property(databases, restoreIds, (database, restoreId) => {
        const id = restoredIdentifier(database, restoreId);
        expect(restoredIdentifier(database, restoreId)).toBe(id);
        expect(id.length).toBeGreaterThan(0);
        expect(id.length).toBeLessThanOrEqual(63);
        expect(id).toMatch(VALID);
        expect(id.endsWith("-")).toBe(false);
        expect(id.startsWith("gitpod-dr-")).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("startDatabaseRestore of a DB instance", () => {
  it("restores the snapshot with the target settings, private and protected, tagged with the restore", async () => {
    const { primary } = rdsWorldWithGroups();
    primary.databases.push(gitpodInstance());
    const snapshot = await snapshotIn(primary, "instance");
    const identifier = restoredIdentifier("gitpod", "drill-1");

    const started = await startDatabaseRestore(primary.client, {
      kind: "instance",
      snapshot,
      identifier,
      restoreId: "drill-1",
      settings: SETTINGS,
    });

    expect(started).toEqual({ identifier, created: true });
    expect(primary.database("instance", identifier)).toEqual({
      kind: "instance",
      identifier,
      encrypted: true,
      kmsKeyId: PRIMARY_CMK,
      status: "creating",
      engine: "mysql",
      tags: restoreTags("drill-1", snapshot.arn),
      settings: {
        snapshot: primary.arn("instance", snapshot.identifier),
        instanceClass: "db.r6g.large",
        subnetGroupName: "gitpod-restore-subnets",
        securityGroupIds: ["sg-0aaa", "sg-0bbb"],
        parameterGroupName: "gitpod-params",
        publiclyAccessible: false,
        deletionProtection: true,
        copyTagsToSnapshot: true,
      },
    });
    expect(restoresTo(primary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
    // The live database is untouched.
    expect(primary.database("instance", "gitpod")).toEqual(gitpodInstance());
  });

  it("a parameter group the region lacks: RDS refuses the restore and nothing is created (as moto and RDS do)", async () => {
    const { primary } = rdsWorld();
    const snapshot = await snapshotIn(primary, "instance");

    const error = await rejection(
      startDatabaseRestore(primary.client, {
        kind: "instance",
        snapshot,
        identifier: "gitpod-restored",
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error.message).toContain(
      "DBParameterGroupNotFoundFault: DB Parameter Group gitpod-params not found.",
    );
    expect(primary.databases).toEqual([]);
  });

  it("restores a DR copy in the DR region, leaving out a parameter group that is not configured", async () => {
    const { primary, dr } = rdsWorldWithGroups();
    const source = primary.add("instance", ours("gitpod", ago(1), { engine: "mysql" }));
    dr.add("instance", copyOf(primary, "instance", source));
    const snapshot = await resolveRestoreSnapshot(snapshotApi("instance"), dr.client, "gitpod", "latest");
    const { parameterGroupName: _, ...settings } = SETTINGS;

    await startDatabaseRestore(dr.client, {
      kind: "instance",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "dr-drill",
      settings,
    });

    const restored = dr.database("instance", "gitpod-restored");
    expect(restored?.tags).toEqual(restoreTags("dr-drill", dr.arn("instance", source.identifier)));
    expect(restored?.kmsKeyId).toBe(DR_KEY_SAME_ACCOUNT);
    expect(restored?.settings?.snapshot).toBe(dr.arn("instance", source.identifier));
    expect(restored?.settings).not.toHaveProperty("parameterGroupName");
    expect(restoresTo(primary)).toEqual([]);
  });

  it("adopts the instance an earlier attempt of the same restore id created", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "instance");
    const input = {
      kind: "instance" as const,
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    };
    await startDatabaseRestore(primary.client, input);
    const first = structuredClone(primary.databases);

    const again = await startDatabaseRestore(primary.client, input);

    expect(again).toEqual({ identifier: "gitpod-restored", created: false });
    expect(primary.databases).toEqual(first);
    expect(restoresTo(primary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
  });

  it.each([
    [
      "another restore's instance",
      { "gitpod-dr:created-by": "gitpod-dr", "gitpod-dr:restore-id": "drill-0" },
    ],
    ["an instance without tags", undefined],
    ["an instance of somebody else", { team: "platform" }],
  ])("refuses an identifier taken by %s: RestoreTargetTaken, nothing restored", async (_, tags) => {
    const { primary } = rdsWorldWithGroups();
    primary.databases.push({
      kind: "instance",
      identifier: "gitpod-restored",
      encrypted: true,
      ...(tags ? { tags } : {}),
    });
    const before = structuredClone(primary.databases);
    const snapshot = await snapshotIn(primary, "instance");

    const error = await rejection(
      startDatabaseRestore(primary.client, {
        kind: "instance",
        snapshot,
        identifier: "gitpod-restored",
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error).toBeInstanceOf(RestoreTargetTakenError);
    expect(error.name).toBe("RestoreTargetTaken");
    expect(error.message).toBe(
      "DB instance gitpod-restored exists and was not created by restore drill-1: choose another targetDbIdentifier",
    );
    expect(primary.databases).toEqual(before);
    expect(restoresTo(primary)).toEqual([]);
  });

  it("refuses to restore over the live database named as the target", async () => {
    const { primary } = rdsWorldWithGroups();
    primary.databases.push(gitpodInstance());
    const snapshot = await snapshotIn(primary, "instance");

    const error = await rejection(
      startDatabaseRestore(primary.client, {
        kind: "instance",
        snapshot,
        identifier: "gitpod",
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error.name).toBe("RestoreTargetTaken");
    expect(primary.databases).toEqual([gitpodInstance()]);
    expect(restoresTo(primary)).toEqual([]);
  });

  it("two restore ids that clean up to the same identifier: the second is refused, never adopts the first's", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "instance");
    const identifier = restoredIdentifier("gitpod", "Drill_1");
    expect(restoredIdentifier("gitpod", "drill-1")).toBe(identifier);
    await startDatabaseRestore(primary.client, {
      kind: "instance",
      snapshot,
      identifier,
      restoreId: "Drill_1",
      settings: SETTINGS,
    });

    const error = await rejection(
      startDatabaseRestore(primary.client, {
        kind: "instance",
        snapshot,
        identifier,
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error.name).toBe("RestoreTargetTaken");
    expect(primary.database("instance", identifier)?.tags?.["gitpod-dr:restore-id"]).toBe("Drill_1");
    expect(restoresTo(primary)).toEqual(["RestoreDBInstanceFromDBSnapshotCommand"]);
  });
});

/**
 * RDS creates a restored cluster's writer only once the cluster is available: start the restore, let
 * the cluster become available, then the Check state creates the writer.
 */
async function restoreClusterThroughCheck(
  world: ReturnType<typeof rdsWorld>["primary"],
  input: Parameters<typeof startDatabaseRestore>[1],
) {
  const started = await startDatabaseRestore(world.client, input);
  const cluster = world.database("cluster", input.identifier);
  if (cluster) cluster.status = "available";
  const checked = await checkDatabaseRestore(world.client, "cluster", input.identifier, input);
  return { started, checked };
}

describe("startDatabaseRestore of an Aurora cluster", () => {
  it("restores the cluster with the snapshot's engine and the configured key, then creates its writer", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster", "aurora-postgresql");
    const identifier = restoredIdentifier("gitpod", "drill-1");

    const input = {
      kind: "cluster" as const,
      snapshot,
      identifier,
      restoreId: "drill-1",
      settings: { ...SETTINGS, kmsKeyArn: RESTORE_KMS_KEY },
    };
    const started = await startDatabaseRestore(primary.client, input);

    // The writer waits for the cluster (RDS refuses it before the cluster is available).
    expect(restoresTo(primary)).toEqual(["RestoreDBClusterFromSnapshotCommand"]);
    expect(primary.database("instance", `${identifier}-writer`)).toBeUndefined();
    const tags = restoreTags("drill-1", snapshot.arn);
    expect(started).toEqual({ identifier, created: true });
    expect(primary.database("cluster", identifier)).toEqual({
      kind: "cluster",
      identifier,
      encrypted: true,
      kmsKeyId: RESTORE_KMS_KEY,
      status: "creating",
      engine: "aurora-postgresql",
      tags,
      settings: {
        snapshot: primary.arn("cluster", snapshot.identifier),
        subnetGroupName: "gitpod-restore-subnets",
        securityGroupIds: ["sg-0aaa", "sg-0bbb"],
        clusterParameterGroupName: "gitpod-cluster-params",
        deletionProtection: true,
      },
    });
    const cluster = primary.database("cluster", identifier);
    if (cluster) cluster.status = "available";
    const checked = await checkDatabaseRestore(primary.client, "cluster", identifier, input);
    expect(checked).toMatchObject({ status: "writer-creating", done: false });
    expect(primary.database("instance", `${identifier}-writer`)).toEqual({
      kind: "instance",
      identifier: `${identifier}-writer`,
      clusterIdentifier: identifier,
      encrypted: true,
      kmsKeyId: RESTORE_KMS_KEY,
      status: "creating",
      engine: "aurora-postgresql",
      tags,
      settings: {
        instanceClass: "db.r6g.large",
        parameterGroupName: "gitpod-params",
        publiclyAccessible: false,
      },
    });
    expect(restoresTo(primary)).toEqual(["RestoreDBClusterFromSnapshotCommand", "CreateDBInstanceCommand"]);
  });

  it("identifiers in any case: restored by the snapshot's ARN, found again in another case, never restored twice", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster");
    // RDS takes a snapshot's name or ARN (RestoreDBClusterFromSnapshot, SnapshotIdentifier), in any case.
    const input = {
      kind: "cluster" as const,
      snapshot: {
        ...snapshot,
        arn: snapshot.arn.replace(snapshot.identifier, snapshot.identifier.toUpperCase()),
      },
      identifier: "GITPOD-DR-GITPOD-R-DRILL-1",
      restoreId: "drill-1",
      settings: SETTINGS,
    };

    const first = await startDatabaseRestore(primary.client, input);
    const again = await startDatabaseRestore(primary.client, {
      ...input,
      identifier: "gitpod-dr-gitpod-r-drill-1",
    });

    expect(first).toEqual({ identifier: input.identifier, created: true });
    expect(again).toEqual({ identifier: "gitpod-dr-gitpod-r-drill-1", created: false });
    expect(restoresTo(primary)).toEqual(["RestoreDBClusterFromSnapshotCommand"]);
    expect(primary.database("cluster", "gitpod-dr-gitpod-r-drill-1")?.identifier).toBe(
      "gitpod-dr-gitpod-r-drill-1",
    );
  });

  it("without a configured key: no KmsKeyId, the cluster keeps the snapshot's key", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster", "aurora-mysql");
    const { clusterParameterGroupName: _, ...settings } = SETTINGS;

    await restoreClusterThroughCheck(primary, {
      kind: "cluster",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings,
    });

    const [restore] = primary.mock.commandCalls(RestoreDBClusterFromSnapshotCommand);
    expect(restore?.args[0].input).not.toHaveProperty("KmsKeyId");
    expect(primary.database("cluster", "gitpod-restored")).toMatchObject({
      kmsKeyId: PRIMARY_CMK,
      engine: "aurora-mysql",
      status: "available",
    });
    expect(primary.database("cluster", "gitpod-restored")?.settings).not.toHaveProperty(
      "clusterParameterGroupName",
    );
    expect(primary.database("instance", "gitpod-restored-writer")).toMatchObject({
      clusterIdentifier: "gitpod-restored",
      engine: "aurora-mysql",
    });
  });

  it("restores a cluster at the snapshot's engine version, not the region's default", async () => {
    const { primary } = rdsWorldWithGroups();
    const made = primary.add(
      "cluster",
      ours("gitpod", ago(1), { engine: "aurora-mysql", engineVersion: "8.0.mysql_aurora.3.05.2" }),
    );
    const snapshot = await resolveRestoreSnapshot(
      snapshotApi("cluster"),
      primary.client,
      "gitpod",
      made.identifier,
    );
    expect(snapshot.engineVersion).toBe("8.0.mysql_aurora.3.05.2");

    await startDatabaseRestore(primary.client, {
      kind: "cluster",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    });

    const [restore] = primary.mock.commandCalls(RestoreDBClusterFromSnapshotCommand);
    expect(restore?.args[0].input).toMatchObject({
      Engine: "aurora-mysql",
      EngineVersion: "8.0.mysql_aurora.3.05.2",
    });
  });

  it("an instance with the writer's name that is in no cluster is not taken for the writer", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster", "aurora-mysql");
    primary.databases.push(
      {
        kind: "cluster",
        identifier: "gitpod-restored",
        encrypted: true,
        status: "available",
        tags: { [TAG_RESTORE_ID]: "drill-1" },
      },
      { kind: "instance", identifier: "gitpod-restored-writer", encrypted: true, status: "available" },
    );

    const error = await rejection(
      checkDatabaseRestore(primary.client, "cluster", "gitpod-restored", {
        kind: "cluster",
        snapshot,
        identifier: "gitpod-restored",
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error.name).toBe("RestoreTargetTaken");
    expect(error.message).toContain("gitpod-restored-writer is in no cluster, not gitpod-restored's writer");
    expect(restoresTo(primary)).toEqual([]);
  });

  it("adopting an available cluster whose writer is missing: the check creates the writer", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster");
    const tags = restoreTags("drill-1", snapshot.arn);
    // An earlier attempt restored the cluster, then failed before creating the writer.
    primary.databases.push({
      kind: "cluster",
      identifier: "gitpod-restored",
      encrypted: true,
      status: "available",
      engine: "aurora-postgresql",
      tags,
    });

    const { started } = await restoreClusterThroughCheck(primary, {
      kind: "cluster",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    });

    expect(started).toEqual({ identifier: "gitpod-restored", created: false });
    expect(primary.database("instance", "gitpod-restored-writer")).toMatchObject({
      clusterIdentifier: "gitpod-restored",
      status: "creating",
      engine: "aurora-postgresql",
      tags,
    });
    expect(restoresTo(primary)).toEqual(["CreateDBInstanceCommand"]);
  });

  it("starting the same restore again sends nothing", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster");
    const input = {
      kind: "cluster" as const,
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    };
    await startDatabaseRestore(primary.client, input);
    const first = structuredClone(primary.databases);

    const again = await startDatabaseRestore(primary.client, input);

    expect(again).toEqual({ identifier: "gitpod-restored", created: false });
    expect(primary.databases).toEqual(first);
    expect(restoresTo(primary)).toEqual(["RestoreDBClusterFromSnapshotCommand"]);
  });

  it("never takes over an unrelated instance that has the writer's name", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster");
    primary.databases.push({
      kind: "instance",
      identifier: "gitpod-restored-writer",
      clusterIdentifier: "someone-elses-cluster",
      encrypted: true,
      status: "available",
      tags: {},
    });
    const input = {
      kind: "cluster" as const,
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    };
    await startDatabaseRestore(primary.client, input);
    const cluster = primary.database("cluster", "gitpod-restored");
    if (cluster) cluster.status = "available";

    const error = await rejection(checkDatabaseRestore(primary.client, "cluster", "gitpod-restored", input));

    expect(error).toBeInstanceOf(RestoreTargetTakenError);
    expect(error.message).toContain("belongs to cluster someone-elses-cluster, not gitpod-restored");
    expect(restoresTo(primary)).toEqual(["RestoreDBClusterFromSnapshotCommand"]);
  });

  it("refuses a cluster identifier taken by another restore: RestoreTargetTaken, nothing created", async () => {
    const { primary } = rdsWorldWithGroups();
    primary.databases.push({
      kind: "cluster",
      identifier: "gitpod-restored",
      encrypted: true,
      tags: { "gitpod-dr:restore-id": "drill-0" },
    });
    const snapshot = await snapshotIn(primary, "cluster");

    const error = await rejection(
      startDatabaseRestore(primary.client, {
        kind: "cluster",
        snapshot,
        identifier: "gitpod-restored",
        restoreId: "drill-1",
        settings: SETTINGS,
      }),
    );

    expect(error).toBeInstanceOf(RestoreTargetTakenError);
    expect(error.message).toBe(
      "DB cluster gitpod-restored exists and was not created by restore drill-1: choose another targetDbIdentifier",
    );
    expect(primary.databases).toHaveLength(1);
    expect(restoresTo(primary)).toEqual([]);
  });

  // Regression: `${identifier}-writer`.slice(0, 63) ends in "-" when the identifier is 62 characters,
  // which RDS rejects; 62 is what restoredIdentifier gives for a 13-character database name and the
  // console's default execution name (a UUID).
  it.each([55, 56, 57, 61, 62, 63])(
    "creates a writer with a valid identifier for a %i-character cluster identifier",
    async (length) => {
      const { primary } = rdsWorldWithGroups();
      const snapshot = await snapshotIn(primary, "cluster");
      const identifier = `gitpod-restored-${"x".repeat(length - 16)}`;
      expect(identifier).toHaveLength(length);

      await restoreClusterThroughCheck(primary, {
        kind: "cluster",
        snapshot,
        identifier,
        restoreId: "drill-1",
        settings: SETTINGS,
      });

      const writers = primary.databases.filter(
        (d) => d.kind === "instance" && d.clusterIdentifier === identifier,
      );
      expect(writers).toHaveLength(1);
      expect(writers[0]?.identifier.length).toBeLessThanOrEqual(63);
    },
  );

  it("restores a cluster for a 13-character database under the console's default execution name", async () => {
    const { primary } = rdsWorldWithGroups();
    const snapshot = await snapshotIn(primary, "cluster");
    const identifier = restoredIdentifier("gitpod-aurora", "b9c3e0a4-6f1d-4c8e-9a57-2f0d3c1e7b42");
    expect(identifier).toHaveLength(62);

    await restoreClusterThroughCheck(primary, {
      kind: "cluster",
      snapshot,
      identifier,
      restoreId: "b9c3e0a4-6f1d-4c8e-9a57-2f0d3c1e7b42",
      settings: SETTINGS,
    });

    expect(primary.databases.filter((d) => d.clusterIdentifier === identifier)).toHaveLength(1);
  });
});

describe("checkDatabaseRestore", () => {
  async function restoredInstance() {
    const world = rdsWorldWithGroups();
    const snapshot = await snapshotIn(world.primary, "instance");
    await startDatabaseRestore(world.primary.client, {
      kind: "instance",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    });
    return world.primary;
  }

  /** A restored cluster whose writer the first check after the cluster became available created. */
  async function restoredCluster() {
    const world = rdsWorldWithGroups();
    const snapshot = await snapshotIn(world.primary, "cluster", "aurora-postgresql");
    await restoreClusterThroughCheck(world.primary, {
      kind: "cluster",
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    });
    return world.primary;
  }

  it("an instance still creating: not done, no endpoint", async () => {
    const primary = await restoredInstance();

    expect(await checkDatabaseRestore(primary.client, "instance", "gitpod-restored")).toEqual({
      identifier: "gitpod-restored",
      status: "creating",
      done: false,
    });
  });

  it("an available instance: done, with its endpoint and port", async () => {
    const primary = await restoredInstance();
    primary.settle("instance", "gitpod-restored");

    expect(await checkDatabaseRestore(primary.client, "instance", "gitpod-restored")).toEqual({
      identifier: "gitpod-restored",
      status: "available",
      endpoint: `gitpod-restored.c0ffee.${PRIMARY_REGION}.rds.amazonaws.com`,
      port: 3306,
      done: true,
    });
  });

  it("a cluster still creating: not done, and no writer yet", async () => {
    const world = rdsWorldWithGroups();
    const primary = world.primary;
    const snapshot = await snapshotIn(primary, "cluster", "aurora-postgresql");
    const input = {
      kind: "cluster" as const,
      snapshot,
      identifier: "gitpod-restored",
      restoreId: "drill-1",
      settings: SETTINGS,
    };
    await startDatabaseRestore(primary.client, input);
    expect(await checkDatabaseRestore(primary.client, "cluster", "gitpod-restored", input)).toEqual({
      identifier: "gitpod-restored",
      status: "creating",
      done: false,
    });
    expect(primary.database("instance", "gitpod-restored-writer")).toBeUndefined();
  });

  it("an available cluster whose writer is still creating: not done (writer-creating)", async () => {
    const primary = await restoredCluster();
    primary.settle("cluster", "gitpod-restored");

    const status = await checkDatabaseRestore(primary.client, "cluster", "gitpod-restored");

    expect(status).toMatchObject({ identifier: "gitpod-restored", status: "writer-creating", done: false });
  });

  it("an available cluster and writer: done, with the cluster's writer endpoint and port", async () => {
    const primary = await restoredCluster();
    primary.settle("cluster", "gitpod-restored");
    primary.settle("instance", "gitpod-restored-writer");

    expect(await checkDatabaseRestore(primary.client, "cluster", "gitpod-restored")).toEqual({
      identifier: "gitpod-restored",
      status: "available",
      endpoint: `gitpod-restored.cluster-c0ffee.${PRIMARY_REGION}.rds.amazonaws.com`,
      port: 5432,
      done: true,
    });
  });

  it.each(["modifying", "backing-up", "configuring-enhanced-monitoring"])(
    "an instance %s after the restore: not done, not failed",
    async (state) => {
      const primary = await restoredInstance();
      primary.settle("instance", "gitpod-restored", state);

      expect(await checkDatabaseRestore(primary.client, "instance", "gitpod-restored")).toMatchObject({
        status: state,
        done: false,
      });
    },
  );

  describe.each(["instance", "cluster"] as const)("a %s in a state RDS does not leave", (kind) => {
    it.each([
      "failed",
      "incompatible-parameters",
      "incompatible-restore",
      "storage-full",
      "inaccessible-encryption-credentials",
      "inaccessible-encryption-credentials-recoverable",
    ])("%s: DatabaseRestoreFailed naming the identifier and the state", async (state) => {
      const primary = kind === "instance" ? await restoredInstance() : await restoredCluster();
      primary.settle(kind, "gitpod-restored", state);

      const error = await rejection(checkDatabaseRestore(primary.client, kind, "gitpod-restored"));

      expect(error).toBeInstanceOf(DatabaseRestoreFailedError);
      expect(error.name).toBe("DatabaseRestoreFailed");
      expect(error.message).toContain(`The restored database gitpod-restored is ${state}:`);
      expect((error as DatabaseRestoreFailedError).retryable).toBe(false);
    });
  });

  // Regression: the writer's state is prefixed with "writer-" before the terminal-failure test,
  // which is anchored at ^, so a failed writer never fails the restore: the Wait → Check loop spins.
  it.each(["failed", "incompatible-parameters", "storage-full"])(
    "BUG: an available cluster whose writer is %s: DatabaseRestoreFailed",
    async (state) => {
      const primary = await restoredCluster();
      primary.settle("cluster", "gitpod-restored");
      primary.settle("instance", "gitpod-restored-writer", state);

      const error = await rejection(checkDatabaseRestore(primary.client, "cluster", "gitpod-restored"));

      expect(error.name).toBe("DatabaseRestoreFailed");
      expect(error.message).toContain("gitpod-restored");
      expect(error.message).toContain(state);
    },
  );

  // Regression: DescribeDBInstances of a missing instance throws DBInstanceNotFound, so the
  // intended `writer-missing` status never appears; the check fails with AwsCallFailed instead.
  it("an available cluster without its writer: not done (writer-missing), not an AWS error", async () => {
    const primary = await restoredCluster();
    primary.settle("cluster", "gitpod-restored");
    primary.databases.splice(
      primary.databases.findIndex((d) => d.identifier === "gitpod-restored-writer"),
      1,
    );

    const status = await checkDatabaseRestore(primary.client, "cluster", "gitpod-restored");

    expect(status).toMatchObject({ status: "writer-missing", done: false });
  });
});
