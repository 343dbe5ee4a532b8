import { describe, expect, it } from "vitest";
import { type RestoreJobConfig, restoreJobConfigSchema } from "../../../packages/core/src/config.ts";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import type { DatabaseKind } from "../../../packages/core/src/rds/types.ts";
import { TAG_RESTORE_ID } from "../../../packages/core/src/restore/database.ts";
import { type ValidateEvent, validateRestore } from "../../../packages/core/src/restore/validate.ts";
import {
  ACCOUNT,
  ago,
  commandsSent,
  copyOf,
  DR_REGION,
  type FakeRdsRegion,
  foreign,
  ours,
  PRIMARY_REGION,
  rdsWorld,
  restoresTo,
  writesTo,
} from "../../../packages/sim/src/rds/fake-rds.ts";

const EXECUTION = "exec-1";
const STARTED = "2026-11-26T10:00:00.000Z";
const PRIMARY_SUBNETS = "gitpod-restore";
const DR_SUBNETS = "gitpod-restore-dr";

function config(
  fields: { kind?: DatabaseKind | "auto"; dr?: boolean; images?: boolean; application?: boolean } = {},
): RestoreJobConfig {
  const { kind = "instance", dr = true, images = true, application = true } = fields;
  const target = (subnets: string, registry: string, cluster: string) => ({
    cluster: { name: cluster },
    database: {
      instanceClass: "db.r6g.large",
      subnetGroupName: subnets,
      securityGroupIds: ["sg-0123456789abcdef0"],
    },
    registry,
  });
  return restoreJobConfigSchema.parse({
    stage: "test",
    account: ACCOUNT,
    regions: { primary: PRIMARY_REGION, dr: DR_REGION },
    database: { identifier: "gitpod", kind },
    ...(application
      ? {
          application: {
            cluster: "gitpod",
            veleroNamespace: "velero",
            storageLocation: "default",
            includedNamespaces: ["gitpod"],
            includeKotsBackups: false,
          },
        }
      : {}),
    restore: {
      targets: {
        primary: target(PRIMARY_SUBNETS, `${ACCOUNT}.dkr.ecr.${PRIMARY_REGION}.amazonaws.com`, "gitpod"),
        ...(dr
          ? { dr: target(DR_SUBNETS, `${ACCOUNT}.dkr.ecr.${DR_REGION}.amazonaws.com`, "gitpod-dr") }
          : {}),
      },
      ...(images ? { images: { references: ["gitpod/server:1"] } } : {}),
    },
  });
}

/** Both regions with gitpod-dr snapshots of `gitpod` (the newest still being created) and the subnet groups. */
function world(kind: DatabaseKind = "instance") {
  const w = rdsWorld();
  const { primary, dr } = w;
  const older = primary.add(kind, ours("gitpod", ago(2)));
  const newest = primary.add(
    kind,
    ours("gitpod", ago(1), { engine: kind === "cluster" ? "aurora-postgresql" : "postgres" }),
  );
  primary.add(kind, ours("gitpod", ago(0, 1), { status: "creating" }));
  // Newer than every gitpod-dr snapshot, but not made by the tool.
  primary.add(kind, foreign("manual-today", "gitpod", ago(0)));
  dr.add(kind, copyOf(primary, kind, older));
  primary.subnetGroups.add(PRIMARY_SUBNETS);
  dr.subnetGroups.add(DR_SUBNETS);
  const asked: string[] = [];
  const deps = {
    rds: (region: string) => {
      asked.push(region);
      return w.aws.region(region).client;
    },
  };
  return { ...w, older, newest, asked, deps };
}

const event = (input: unknown): ValidateEvent => ({
  input,
  executionName: EXECUTION,
  executionStartedAt: STARTED,
});

async function invalid(promise: Promise<unknown>): Promise<InvalidInputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidInputError);
  return error as InvalidInputError;
}

/** Validation only reads: every command a region received is a Describe*. */
function expectOnlyReads(...regions: FakeRdsRegion[]): void {
  for (const region of regions) {
    expect(restoresTo(region)).toEqual([]);
    expect(writesTo(region)).toEqual([]);
    expect(commandsSent(region).filter((name) => !name.startsWith("Describe"))).toEqual([]);
  }
}

describe("validateRestore", () => {
  it("lists every shape error together, and asks RDS nothing", async () => {
    const w = world();
    const error = await invalid(
      validateRestore(event({ target: "west", tiers: [], dryRun: "yes", extra: 1 }), config(), w.deps),
    );
    expect(error.issues).toHaveLength(4);
    expect(error.issues.join("\n")).toMatch(/^target: must be "primary" or "dr"$/m);
    expect(error.issues.join("\n")).toMatch(/^tiers: must name at least one tier$/m);
    expect(error.issues.join("\n")).toMatch(/^dryRun: must be true or false$/m);
    expect(error.issues.join("\n")).toMatch(/extra/);
    expect(error.message).toContain("Invalid restore input: ");
    expect(w.asked).toEqual([]);
    expect(commandsSent(w.primary)).toEqual([]);
  });

  it("rejects a null input as InvalidInput, and asks RDS nothing (it is not {}: no full restore)", async () => {
    const w = world();

    const error = await invalid(validateRestore(event(null), config(), w.deps));

    expect(error.name).toBe("InvalidInput");
    expect(error.message).toContain("the input must be a JSON object (got null)");
    expect(w.asked).toEqual([]);
    expect(commandsSent(w.primary)).toEqual([]);
  });

  it("{}: every configured tier, the newest available gitpod-dr snapshot in the primary region", async () => {
    const w = world();
    const request = await validateRestore(event({}), config(), w.deps);

    expect(request).toEqual({
      restoreId: EXECUTION,
      target: "primary",
      region: PRIMARY_REGION,
      tiers: ["database", "images", "application"],
      dryRun: false,
      allowPartialRestore: false,
      dbSnapshot: "latest",
      veleroBackup: "latest",
      executionStartedAt: STARTED,
      database: {
        kind: "instance",
        snapshot: {
          identifier: w.newest.identifier,
          arn: w.primary.arn("instance", w.newest.identifier),
          createdAt: w.newest.createdAt.toISOString(),
          // The recovery time the RDS job recorded (gitpod-dr:window), which "latest" orders by.
          window: w.newest.tags["gitpod-dr:window"],
          engine: "postgres",
          encrypted: true,
        },
        identifier: "gitpod-dr-gitpod-r-exec-1",
        adopt: false,
      },
    });
    expect(w.asked.every((r) => r === PRIMARY_REGION)).toBe(true);
    expectOnlyReads(w.primary, w.dr);
  });

  it("{}: only the tiers this stage configures", async () => {
    const w = world();
    const request = await validateRestore(event({}), config({ images: false, application: false }), w.deps);
    expect(request.tiers).toEqual(["database"]);

    const withImages = await validateRestore(event({}), config({ application: false }), w.deps);
    expect(withImages.tiers).toEqual(["database", "images"]);
  });

  it("naming a tier that is not configured is InvalidInput naming it", async () => {
    const w = world();
    const error = await invalid(
      validateRestore(
        event({ tiers: ["images", "application"] }),
        config({ images: false, application: false }),
        w.deps,
      ),
    );
    expect(error.issues).toEqual([
      "tiers: images are not configured for restore (restore.images in the stage configuration)",
      "tiers: the application tier is not configured (application in the stage configuration); leave it out of tiers",
    ]);
    expect(error.name).toBe("InvalidInput");
  });

  it("names fields given for a tier that is not restored", async () => {
    const w = world();
    const error = await invalid(
      validateRestore(
        event({ tiers: ["images"], dbSnapshot: "x", targetDbIdentifier: "gitpod-new", veleroBackup: "b" }),
        config(),
        w.deps,
      ),
    );
    expect(error.issues).toEqual([
      "dbSnapshot: given, but tiers does not include database",
      "targetDbIdentifier: given, but tiers does not include database",
      "veleroBackup: given, but tiers does not include application",
    ]);
    // Without the database tier, RDS is not asked.
    expect(w.asked).toEqual([]);
  });

  it("a named snapshot that is not available is InvalidInput naming dbSnapshot", async () => {
    const w = world();
    w.primary.add("instance", ours("gitpod", ago(5), { identifier: "copying-one", status: "copying" }));
    const error = await invalid(validateRestore(event({ dbSnapshot: "copying-one" }), config(), w.deps));
    expect(error.issues).toEqual([
      `dbSnapshot: Snapshot copying-one in ${PRIMARY_REGION} is copying, not available`,
    ]);
  });

  it("auto: finds the database's kind by its snapshot (a cluster snapshot)", async () => {
    const w = world("cluster");
    const request = await validateRestore(event({ tiers: ["database"] }), config({ kind: "auto" }), w.deps);

    expect(request.database).toMatchObject({
      kind: "cluster",
      snapshot: { identifier: w.newest.identifier, arn: w.primary.arn("cluster", w.newest.identifier) },
      identifier: "gitpod-dr-gitpod-r-exec-1",
      adopt: false,
    });
    expectOnlyReads(w.primary, w.dr);
  });

  it("auto with another database's snapshot named: InvalidInput naming dbSnapshot, not a restore of it", async () => {
    const w = world("cluster");
    w.primary.add("cluster", foreign("reporting-final", "reporting", ago(3)));

    const error = await invalid(
      validateRestore(
        event({ tiers: ["database"], dbSnapshot: "reporting-final" }),
        config({ kind: "auto" }),
        w.deps,
      ),
    );

    expect(error.issues).toEqual([
      "dbSnapshot: snapshot reporting-final is of DB cluster reporting, not of gitpod (database.identifier): name a snapshot of gitpod",
    ]);
    expectOnlyReads(w.primary, w.dr);
  });

  it("auto with no snapshot of either kind: one dbSnapshot problem", async () => {
    const w = rdsWorld();
    w.primary.subnetGroups.add(PRIMARY_SUBNETS);
    const error = await invalid(
      validateRestore(event({ tiers: ["database"] }), config({ kind: "auto" }), {
        rds: (region) => w.aws.region(region).client,
      }),
    );
    expect(error.issues).toEqual([
      `dbSnapshot: No available snapshot of gitpod made by gitpod-dr exists in ${PRIMARY_REGION}: name one with dbSnapshot`,
    ]);
  });

  it("a target identifier taken by another database is InvalidInput", async () => {
    const w = world();
    w.primary.databases.push({
      kind: "instance",
      identifier: "gitpod-new",
      encrypted: true,
      tags: { team: "x" },
    });
    const error = await invalid(
      validateRestore(event({ restoreId: "r1", targetDbIdentifier: "gitpod-new" }), config(), w.deps),
    );
    expect(error.issues).toEqual([
      "targetDbIdentifier: gitpod-new exists and was not created by restore r1: choose another targetDbIdentifier",
    ]);
    expectOnlyReads(w.primary);
  });

  it("a target identifier this restore id created is adopted", async () => {
    const w = world();
    w.primary.databases.push({
      kind: "instance",
      identifier: "gitpod-dr-gitpod-r-r1",
      encrypted: true,
      tags: { [TAG_RESTORE_ID]: "r1" },
    });
    const request = await validateRestore(event({ restoreId: "r1" }), config(), w.deps);
    expect(request.database).toMatchObject({ identifier: "gitpod-dr-gitpod-r-r1", adopt: true });
  });

  it("the source database itself is never a target", async () => {
    const w = world();
    w.primary.databases.push({ kind: "instance", identifier: "gitpod", encrypted: true });
    const error = await invalid(validateRestore(event({ targetDbIdentifier: "gitpod" }), config(), w.deps));
    expect(error.issues).toContain(
      "targetDbIdentifier: gitpod is the source database itself; a restore never overwrites it",
    );
  });

  it("dr: asks the DR region's client, with the DR target's subnet group, and finds the DR copy", async () => {
    const w = world();
    const request = await validateRestore(event({ target: "dr" }), config(), w.deps);

    expect(request.region).toBe(DR_REGION);
    expect(w.asked.length).toBeGreaterThan(0);
    expect(new Set(w.asked)).toEqual(new Set([DR_REGION]));
    expect(request.database?.snapshot).toMatchObject({
      identifier: w.older.identifier,
      arn: w.dr.arn("instance", w.older.identifier),
    });
    expect(commandsSent(w.primary)).toEqual([]);
    expectOnlyReads(w.dr);
  });

  it("dr: the DR subnet group missing is named with the region", async () => {
    const w = world();
    w.dr.subnetGroups.clear();
    const error = await invalid(validateRestore(event({ target: "dr" }), config(), w.deps));
    expect(error.issues).toEqual([
      `DB subnet group ${DR_SUBNETS} does not exist in ${DR_REGION}: create it or fix the restore configuration`,
    ]);
  });

  it("dr without a dr target configured is InvalidInput", async () => {
    const w = world();
    const error = await invalid(validateRestore(event({ target: "dr" }), config({ dr: false }), w.deps));
    expect(error.issues).toEqual([
      'target: no "dr" target is configured (restore.targets.dr in the stage configuration)',
    ]);
    expect(w.asked).toEqual([]);
  });
});
