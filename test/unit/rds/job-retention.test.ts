import { CopyDBSnapshotCommand, CreateDBSnapshotCommand, DeleteDBSnapshotCommand } from "@aws-sdk/client-rds";
import { describe, expect, it } from "vitest";
import { runRdsSnapshotJob } from "../../../packages/core/src/rds/job.ts";
import {
  ago,
  copyOf,
  foreign,
  gitpodInstance,
  jobConfig,
  ours,
  rdsWorld,
  THIS_WINDOW,
  TIME,
} from "../../../packages/sim/src/rds/fake-rds.ts";

describe("retention run by the job", () => {
  it("deletes only expired gitpod-dr snapshots in both regions and keeps primaries without an available DR copy", async () => {
    // Prepare (keepLast 2, maxAgeDays 7 in both regions)
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const a1 = primary.add("instance", ours("gitpod", ago(1)));
    const a2 = primary.add("instance", ours("gitpod", ago(2)));
    const a8 = primary.add("instance", ours("gitpod", ago(8)));
    const a9 = primary.add("instance", ours("gitpod", ago(9)));
    const a10 = primary.add("instance", ours("gitpod", ago(10)));
    const untagged = primary.add("instance", foreign("gitpod-before-upgrade", "gitpod", ago(30)));
    const otherDb = primary.add("instance", ours("billing", ago(30)));
    dr.add("instance", copyOf(primary, "instance", a1));
    dr.add("instance", copyOf(primary, "instance", a2));
    // Copied two days late: the DR copy's age is the original's, not the copy's.
    dr.add("instance", copyOf(primary, "instance", a8, { copiedAt: ago(6) }));
    dr.add("instance", copyOf(primary, "instance", a9, { status: "copying" }));
    // a10 has no DR copy, and DR retention would delete one at once (10 days old, beyond keepLast):
    // it is not copied, and the primary's own retention expires it.
    const orphanCopy = dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(20))));
    const untaggedInDr = dr.add("instance", foreign("gitpod-before-upgrade-copy", "gitpod", ago(40)));
    const otherDbInDr = dr.add("instance", copyOf(primary, "instance", ours("billing", ago(40))));

    // Act
    const summary = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess: the snapshots that survived, in each region.
    expect(primary.identifiers("instance").sort()).toEqual(
      [a1, a2, a9, untagged, otherDb]
        .map((s) => s.identifier)
        .concat(THIS_WINDOW)
        .sort(),
    );
    expect(dr.identifiers("instance").sort()).toEqual(
      [a1, a2, a9, untaggedInDr, otherDbInDr].map((s) => s.identifier).sort(),
    );
    expect(summary.notCopiedTooOld).toEqual([a10.identifier]);
    expect(summary.copied).toEqual([]);
    expect(summary.deleted.primary).toEqual([
      { identifier: a8.identifier, reason: "expired", ageDays: expect.closeTo(8 + 42 / 86_400, 6) },
      { identifier: a10.identifier, reason: "expired", ageDays: expect.closeTo(10 + 42 / 86_400, 6) },
    ]);
    expect(summary.deleted.dr.map((d) => [d.identifier, d.reason])).toEqual([
      [a8.identifier, "expired"],
      [orphanCopy.identifier, "expired"],
    ]);
    const keptPrimary = new Map(summary.kept.primary.map((d) => [d.identifier, d.reason]));
    expect(keptPrimary.get(a9.identifier)).toBe("dr-copy-not-available");
    expect(keptPrimary.get(untagged.identifier)).toBeUndefined();
    expect(keptPrimary.get(otherDb.identifier)).toBeUndefined();
    const deletedAnywhere = [
      ...primary.mock.commandCalls(DeleteDBSnapshotCommand),
      ...dr.mock.commandCalls(DeleteDBSnapshotCommand),
    ].map((c) => c.args[0].input.DBSnapshotIdentifier);
    expect(deletedAnywhere.sort()).toEqual(
      [a8.identifier, a8.identifier, a10.identifier, orphanCopy.identifier].sort(),
    );
  });
});

describe("listing snapshots", () => {
  it("reads every page: an expired snapshot on page 3 is deleted and this window's snapshot on page 3 is found", async () => {
    // Prepare: 2 snapshots per page, 3 pages in each region; what matters is on the last page.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.pageSize = 2;
    dr.pageSize = 2;
    const a1 = primary.add("instance", ours("gitpod", ago(1)));
    const a2 = primary.add("instance", ours("gitpod", ago(2)));
    primary.add("instance", foreign("manual-1", "gitpod", ago(3)));
    primary.add("instance", foreign("manual-2", "gitpod", ago(4)));
    const expired = primary.add("instance", ours("gitpod", ago(9)));
    const thisWindow = primary.add("instance", ours("gitpod", TIME, { status: "creating" }));
    dr.add("instance", copyOf(primary, "instance", a1));
    dr.add("instance", copyOf(primary, "instance", a2));
    dr.add("instance", foreign("dr-manual-1", "dr-local", ago(3)));
    dr.add("instance", foreign("dr-manual-2", "dr-local", ago(4)));
    dr.add("instance", copyOf(primary, "instance", expired));

    // Act
    const summary = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess
    expect(primary.markersSeen).toEqual([undefined, "2", "4"]);
    expect(dr.markersSeen).toEqual([undefined, "2", "4"]);
    expect(summary.alreadyExisted).toEqual([thisWindow.identifier]);
    expect(primary.mock.commandCalls(CreateDBSnapshotCommand)).toEqual([]);
    expect(primary.find("instance", expired.identifier)).toBeUndefined();
    expect(dr.find("instance", expired.identifier)).toBeUndefined();
    expect(primary.identifiers("instance")).toEqual(
      [a2, a1, thisWindow].map((s) => s.identifier).concat("manual-1", "manual-2"),
    );
    expect(dr.identifiers("instance")).toEqual(["dr-manual-1", "dr-manual-2", a2.identifier, a1.identifier]);
  });
});

describe("DR retention shorter than the primary's", () => {
  it("never copies a snapshot that DR retention would delete at once: no copy-delete cycle over repeated runs", async () => {
    // Prepare: the primary keeps 14 days, the DR region only 3 (keepLast 1).
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const config = jobConfig({
      retention: { keepLast: 2, maxAgeDays: 14 },
      drRetention: { keepLast: 1, maxAgeDays: 3 },
    });
    const a1 = primary.add("instance", ours("gitpod", ago(1)));
    const a2 = primary.add("instance", ours("gitpod", ago(2)));
    const a5 = primary.add("instance", ours("gitpod", ago(5)));
    const a6 = primary.add("instance", ours("gitpod", ago(6)));
    dr.add("instance", copyOf(primary, "instance", a1));
    dr.add("instance", copyOf(primary, "instance", a5));

    // Act: the same window three times (a retried invocation, then two more deliveries).
    const summaries = [];
    for (let run = 0; run < 3; run += 1) {
      summaries.push(await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, deps));
    }

    // Assess: a5's copy expired in DR once and was never copied back; a6 was never copied; a2 once.
    const copiedIds = dr.mock
      .commandCalls(CopyDBSnapshotCommand)
      .map((c) => c.args[0].input.TargetDBSnapshotIdentifier);
    expect(copiedIds).toEqual([a2.identifier]);
    expect(summaries[0]?.deleted.dr.map((d) => d.identifier)).toEqual([a5.identifier]);
    expect(summaries[1]?.deleted.dr).toEqual([]);
    expect(summaries[2]?.notCopiedTooOld.sort()).toEqual([a5.identifier, a6.identifier].sort());
    // The primary keeps them by its own retention (younger than 14 days).
    expect(primary.identifiers("instance")).toEqual(
      expect.arrayContaining([a1, a2, a5, a6].map((s) => s.identifier)),
    );
    expect(dr.identifiers("instance").sort()).toEqual([a1.identifier, a2.identifier].sort());
  });
});
