/**
 * The RDS job with the recovery-point catalog (dynalite) and the fake RDS: DR retention ages copies by
 * their recovery time, not the copy's SnapshotCreateTime; the job records its copies; linked retention
 * keeps the newest complete recovery point's snapshot; a catalog it cannot reach deletes nothing and
 * fails the run, which a repeat completes.
 */
import { describe, expect, it } from "vitest";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import { SnapshotJobIncompleteError } from "../../packages/core/src/rds/errors.ts";
import { runRdsSnapshotJob } from "../../packages/core/src/rds/job.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import { bucketEntry, databaseEntry } from "../../packages/sim/src/catalog/entries.ts";
import {
  ago,
  copyOf,
  DR_REGION,
  gitpodInstance,
  jobConfig,
  ours,
  rdsWorld,
  TIME,
} from "../../packages/sim/src/rds/fake-rds.ts";

const catalog = useLocalCatalog();
const catalogConfig = (buckets: string[] = []) => ({
  tableName: catalog.tableName,
  region: DR_REGION,
  scope: { buckets, images: false, application: false },
});

describe.each(["instance", "cluster"] as const)("DR copies of a DB %s age by their recovery time", (kind) => {
  it("keeps the newest recovery point and expires the old one re-copied lately (the copy-time divergence)", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance({ kind }));
    // Copied a day ago, its data is 40 days old: its SnapshotCreateTime (a cluster copy's only time) says 1 day.
    const old = dr.add(kind, copyOf(primary, kind, ours("gitpod", ago(40)), { copiedAt: ago(1) }));
    // Data 35 days old, copied 34 days ago: the newest recovery point in the DR region.
    const newer = dr.add(kind, copyOf(primary, kind, ours("gitpod", ago(35)), { copiedAt: ago(34) }));

    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ database: { identifier: "gitpod", kind }, drRetention: { keepLast: 1, maxAgeDays: 30 } }),
      deps,
    );

    expect(dr.identifiers(kind)).toEqual([newer.identifier]);
    expect(summary.deleted.dr).toEqual([
      { identifier: old.identifier, reason: "expired", ageDays: expect.closeTo(40 + 42 / 86_400, 6) },
    ]);
    expect(summary.kept.dr).toEqual([
      {
        identifier: newer.identifier,
        reason: "newest-available",
        ageDays: expect.closeTo(35 + 42 / 86_400, 6),
      },
    ]);
  });
});

describe("the RDS job records in the catalog", () => {
  it("records available and started copies by recovery time, once", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const copied = primary.add("instance", ours("gitpod", ago(2)));
    dr.add("instance", copyOf(primary, "instance", copied));
    const notYet = primary.add("instance", ours("gitpod", ago(1)));
    const store = catalog.store();
    const config = jobConfig({ catalog: catalogConfig() });

    await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, { ...deps, catalog: store });

    const entries = await store.newest("database", { limit: 10 });
    expect(entries.map((e) => [e.snapshotId, e.drCopyStatus, e.recoveryTime])).toEqual([
      [notYet.identifier, "copying", ago(1).toISOString()],
      [copied.identifier, "available", ago(2).toISOString()],
    ]);
    expect(entries[1]?.drCopyArn).toBe(`arn:aws:rds:${DR_REGION}:111111111111:snapshot:${copied.identifier}`);
    expect(entries[1]?.snapshotArn).toBe(primary.arn("instance", copied.identifier));

    // The copy finished: the next run records it as available; an unchanged one is not written again.
    const copy = dr.find("instance", notYet.identifier);
    expect(copy?.status).toBe("pending");
    if (copy) copy.status = "available";
    await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, { ...deps, catalog: store });
    const after = await store.newest("database", { limit: 10 });
    expect(after.map((e) => [e.snapshotId, e.drCopyStatus])).toEqual([
      [notYet.identifier, "available"],
      [copied.identifier, "available"],
    ]);
  });

  it("never deletes the newest complete recovery point's snapshot, whatever retention says", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const snapshots = [10, 9, 8].map((d) => primary.add("instance", ours("gitpod", ago(d))));
    for (const s of snapshots) dr.add("instance", copyOf(primary, "instance", s));
    const store = catalog.store();
    for (const s of snapshots) await store.put(databaseEntry(s.createdAt, s.identifier));
    // The bucket replicated only up to 9.5 days ago: the newest complete point is the 10-day-old snapshot.
    await store.put(bucketEntry("backups", ago(9, 12)));

    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({
        retention: { keepLast: 1, maxAgeDays: 7 },
        drRetention: { keepLast: 1, maxAgeDays: 7 },
        catalog: catalogConfig(["backups"]),
      }),
      { ...deps, catalog: store },
    );

    const point = snapshots[0]?.identifier as string;
    expect(dr.identifiers("instance")).toEqual([point, snapshots[2]?.identifier].sort());
    expect(primary.identifiers("instance")).toContain(point);
    expect(summary.kept.dr).toContainEqual(
      expect.objectContaining({ identifier: point, reason: "recovery-point" }),
    );
    expect(summary.deleted.dr.map((d) => d.identifier)).toEqual([snapshots[1]?.identifier]);
  });

  it("deletes nothing when the catalog cannot be read, fails the run, and a repeat completes it", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const snapshots = [10, 9, 8].map((d) => primary.add("instance", ours("gitpod", ago(d))));
    for (const s of snapshots) dr.add("instance", copyOf(primary, "instance", s));
    const missing = new CatalogStore(catalog.client, "gitpod-dr-missing-catalog");
    const config = jobConfig({
      retention: { keepLast: 1, maxAgeDays: 7 },
      drRetention: { keepLast: 1, maxAgeDays: 7 },
      catalog: catalogConfig(),
    });

    const error = await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, {
      ...deps,
      catalog: missing,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    const problems = (error as SnapshotJobIncompleteError).problems.join("\n");
    expect(problems).toMatch(/Retention deleted nothing: .*\[CatalogReadFailed\]/);
    expect(problems).toMatch(
      /could not be recorded in catalog gitpod-dr-missing-catalog.*next run records it.*\[CatalogWriteFailed\]/,
    );
    expect(dr.identifiers("instance")).toHaveLength(3);
    expect(primary.identifiers("instance")).toHaveLength(4); // and this window's

    const store = catalog.store();
    await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, { ...deps, catalog: store });
    // The repeat deletes what retention expires, and records the copy that remains.
    expect((await store.newest("database", { limit: 10 })).map((e) => e.snapshotId)).toEqual([
      snapshots[2]?.identifier,
    ]);
    expect(dr.identifiers("instance")).toEqual([snapshots[2]?.identifier]);
  });
});
