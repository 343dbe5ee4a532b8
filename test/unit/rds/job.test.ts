import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand } from "@aws-sdk/client-rds";
import { describe, expect, it } from "vitest";
import {
  DatabaseNotFoundError,
  SnapshotConflictError,
  UnsupportedDatabaseError,
} from "../../../packages/core/src/rds/errors.ts";
import { runRdsSnapshotJob } from "../../../packages/core/src/rds/job.ts";
import {
  ago,
  commandsSent,
  copyOf,
  DR_KEY_SAME_ACCOUNT,
  foreign,
  gitpodInstance,
  jobConfig,
  ours,
  PRIMARY_CMK,
  rdsWorld,
  THIS_WINDOW,
  TIME,
  writesTo,
} from "../../../packages/sim/src/rds/fake-rds.ts";

const TAGS_OF_THIS_WINDOW = {
  "gitpod-dr:created-by": "gitpod-dr",
  "gitpod-dr:source": "gitpod",
  "gitpod-dr:window": "2026-11-26T03:00:00.000Z",
};

describe.each([
  {
    kind: "instance" as const,
    other: "cluster" as const,
    primaryCommands: [
      "DescribeDBInstancesCommand",
      "DescribeDBSnapshotsCommand",
      "CreateDBSnapshotCommand",
      "DeleteDBSnapshotCommand",
    ],
    drCommands: ["DescribeDBSnapshotsCommand", "CopyDBSnapshotCommand", "DeleteDBSnapshotCommand"],
  },
  {
    kind: "cluster" as const,
    other: "instance" as const,
    primaryCommands: [
      "DescribeDBInstancesCommand",
      "DescribeDBClustersCommand",
      "DescribeDBClusterSnapshotsCommand",
      "CreateDBClusterSnapshotCommand",
      "DeleteDBClusterSnapshotCommand",
    ],
    drCommands: [
      "DescribeDBClusterSnapshotsCommand",
      "CopyDBClusterSnapshotCommand",
      "DeleteDBClusterSnapshotCommand",
    ],
  },
])("a DB $kind (database.kind auto)", ({ kind, other, primaryCommands, drCommands }) => {
  it("creates, copies and expires snapshots with its own API family only", async () => {
    // Prepare: yesterday's snapshot not yet copied; an expired one copied long ago; an expired DR copy
    // whose primary is already gone.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push({ kind, identifier: "gitpod", encrypted: true, kmsKeyId: PRIMARY_CMK });
    const yesterday = primary.add(kind, ours("gitpod", ago(1)));
    const nineDays = primary.add(kind, ours("gitpod", ago(9)));
    dr.add(kind, copyOf(primary, kind, nineDays));
    dr.add(kind, copyOf(primary, kind, ours("gitpod", ago(10))));
    const config = jobConfig({
      retention: { keepLast: 1, maxAgeDays: 7 },
      drRetention: { keepLast: 1, maxAgeDays: 7 },
    });

    // Act
    const summary = await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, deps);

    // Assess: the end state in both regions.
    expect(primary.view(kind)).toEqual([
      { identifier: yesterday.identifier, status: "available", tags: yesterday.tags, kmsKeyId: PRIMARY_CMK },
      { identifier: THIS_WINDOW, status: "creating", tags: TAGS_OF_THIS_WINDOW, kmsKeyId: PRIMARY_CMK },
    ]);
    expect(dr.view(kind)).toEqual([
      {
        identifier: nineDays.identifier,
        status: "available",
        tags: { ...nineDays.tags, "gitpod-dr:source-snapshot": primary.arn(kind, nineDays.identifier) },
        kmsKeyId: DR_KEY_SAME_ACCOUNT,
        sourceArn: primary.arn(kind, nineDays.identifier),
      },
      {
        identifier: yesterday.identifier,
        status: "pending",
        tags: { ...yesterday.tags, "gitpod-dr:source-snapshot": primary.arn(kind, yesterday.identifier) },
        kmsKeyId: DR_KEY_SAME_ACCOUNT,
        sourceArn: primary.arn(kind, yesterday.identifier),
      },
    ]);
    expect(primary.view(other)).toEqual([]);
    expect(dr.view(other)).toEqual([]);
    expect(commandsSent(primary)).toEqual(primaryCommands);
    expect(commandsSent(dr)).toEqual(drCommands);
    expect(summary).toMatchObject({
      database: {
        identifier: "gitpod",
        kind,
        arn: primary.arn(kind === "instance" ? "db" : "cluster-db", "gitpod"),
      },
      window: "2026-11-26T03:00:00.000Z",
      created: [THIS_WINDOW],
      alreadyExisted: [],
      waitingForCreation: [THIS_WINDOW],
      copied: [yesterday.identifier],
      problems: [],
    });
    expect(summary.deleted.primary.map((d) => [d.identifier, d.reason])).toEqual([
      [nineDays.identifier, "expired"],
    ]);
    expect(summary.deleted.dr.map((d) => [d.identifier, d.reason])).toEqual([
      ["gitpod-dr-gitpod-2026-11-16-0300", "expired"],
    ]);
  });
});

describe("a re-run in the same window", () => {
  it("finds its tagged snapshot, creates nothing and changes nothing", async () => {
    // Prepare: a first run did the work of this window.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.add("instance", ours("gitpod", ago(1)));
    primary.add("instance", ours("gitpod", ago(9)));
    dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(9))));
    const first = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);
    expect(first.created).toEqual([THIS_WINDOW]);
    const afterFirst = { primary: primary.view("instance"), dr: dr.view("instance") };
    primary.mock.resetHistory();
    dr.mock.resetHistory();

    // Act: the same scheduled event delivered again, a few seconds later.
    const second = await runRdsSnapshotJob(
      { time: new Date("2026-11-26T03:00:00Z"), dryRun: false },
      jobConfig(),
      deps,
    );

    // Assess
    expect(second.alreadyExisted).toEqual([THIS_WINDOW]);
    expect(second.created).toEqual([]);
    expect(second.copied).toEqual([]);
    expect(second.copiesInProgress).toEqual([ours("gitpod", ago(1)).identifier]);
    expect(second.waitingForCreation).toEqual([THIS_WINDOW]);
    expect(writesTo(primary)).toEqual([]);
    expect(writesTo(dr)).toEqual([]);
    expect({ primary: primary.view("instance"), dr: dr.view("instance") }).toEqual(afterFirst);
  });

  it("treats DBSnapshotAlreadyExistsFault from a concurrent invocation as success", async () => {
    // Prepare: another invocation of the same window creates the snapshot between our list and our create.
    const { primary, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.beforeCreate = (identifier) => {
      if (!primary.find("instance", identifier)) {
        primary.add("instance", ours("gitpod", TIME, { status: "creating" }));
      }
    };

    // Act
    const summary = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess: our create was refused, the job succeeded, and exactly one snapshot of the window exists.
    expect(primary.mock.commandCalls(CreateDBSnapshotCommand)).toHaveLength(1);
    expect(summary.alreadyExisted).toEqual([THIS_WINDOW]);
    expect(summary.created).toEqual([]);
    expect(summary.problems).toEqual([]);
    expect(primary.view("instance")).toEqual([
      { identifier: THIS_WINDOW, status: "creating", tags: TAGS_OF_THIS_WINDOW, kmsKeyId: PRIMARY_CMK },
    ]);
  });

  it("refuses a same-named snapshot that somebody else creates between our listing and our create", async () => {
    // Prepare: not a concurrent run of ours, but a hand-made snapshot with the window's name.
    const { primary, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.beforeCreate = (identifier) => {
      if (!primary.find("instance", identifier)) primary.add("instance", foreign(identifier, "gitpod", TIME));
    };

    // Act
    const error = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess: refused by name, and the foreign snapshot was not tagged or changed.
    expect(error).toBeInstanceOf(SnapshotConflictError);
    expect((error as Error).message).toContain(THIS_WINDOW);
    expect(primary.view("instance")).toEqual([
      expect.objectContaining({
        identifier: THIS_WINDOW,
        tags: expect.not.objectContaining({ "gitpod-dr:created-by": "gitpod-dr" }),
      }),
    ]);
  });

  it("refuses a same-named snapshot without gitpod-dr tags, and creates or deletes nothing", async () => {
    // Prepare: somebody made a snapshot with the name of this window; an expired one of ours waits.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.add("instance", foreign(THIS_WINDOW, "gitpod", ago(0, 1)));
    const expired = primary.add("instance", ours("gitpod", ago(20)));
    primary.add("instance", ours("gitpod", ago(21)));
    primary.add("instance", ours("gitpod", ago(22)));
    dr.add("instance", copyOf(primary, "instance", expired));
    const before = { primary: primary.view("instance"), dr: dr.view("instance") };

    // Act
    const run = runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess
    await expect(run).rejects.toBeInstanceOf(SnapshotConflictError);
    await expect(run).rejects.toMatchObject({ name: "SnapshotConflict", retryable: false });
    await expect(run).rejects.toThrow(`A snapshot named ${THIS_WINDOW} exists in eu-west-1`);
    expect(writesTo(primary)).toEqual([]);
    expect(writesTo(dr)).toEqual([]);
    expect({ primary: primary.view("instance"), dr: dr.view("instance") }).toEqual(before);
    expect(primary.find("instance", THIS_WINDOW)?.tags).toEqual({ team: "platform" });
  });
});

describe("a dry run", () => {
  it("sends no Create, Copy or Delete, and lists what it would create, copy and delete", async () => {
    // Prepare: work of every kind waits — a window to snapshot, a copy to start, expired snapshots in
    // both regions, and a failed DR copy.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const yesterday = primary.add("instance", ours("gitpod", ago(1)));
    const twoDays = primary.add("instance", ours("gitpod", ago(2)));
    const expired = primary.add("instance", ours("gitpod", ago(9)));
    dr.add("instance", copyOf(primary, "instance", twoDays, { status: "failed" }));
    dr.add("instance", copyOf(primary, "instance", expired));
    dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(10))));
    dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(11))));
    const before = { primary: primary.view("instance"), dr: dr.view("instance") };

    // Act
    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: true },
      jobConfig({ retention: { keepLast: 1, maxAgeDays: 7 }, drRetention: { keepLast: 1, maxAgeDays: 7 } }),
      deps,
    );

    // Assess: nothing changed anywhere…
    expect(writesTo(primary)).toEqual([]);
    expect(writesTo(dr)).toEqual([]);
    expect({ primary: primary.view("instance"), dr: dr.view("instance") }).toEqual(before);
    // …and the summary says what a real run would do.
    expect(summary.dryRun).toBe(true);
    expect(summary.created).toEqual([THIS_WINDOW]);
    expect(summary.copied).toEqual([yesterday.identifier]);
    expect(summary.failedCopiesRemoved).toEqual([twoDays.identifier]);
    expect(summary.warnings).toContain(
      `The DR copy ${twoDays.identifier} in eu-central-1 had failed; it would be deleted so that the next run copies it again`,
    );
    expect(summary.deleted.primary.map((d) => d.identifier)).toEqual([expired.identifier]);
    expect(summary.deleted.dr.map((d) => d.identifier)).toEqual([
      "gitpod-dr-gitpod-2026-11-16-0300",
      "gitpod-dr-gitpod-2026-11-15-0300",
    ]);
  });
});

describe("the manual snapshot quota", () => {
  const run = async (existing: number) => {
    const { primary, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    for (let i = 0; i < existing; i++) primary.add("instance", foreign(`manual-${i}`, "gitpod", ago(30 + i)));
    // Automated snapshots do not count against the manual quota.
    for (let i = 0; i < 5; i++) {
      primary.add("instance", foreign(`rds:gitpod-auto-${i}`, "gitpod", ago(i), { type: "automated" }));
    }
    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ manualSnapshotQuota: 10 }),
      deps,
    );
    expect(primary.identifiers("instance")).toContain(THIS_WINDOW);
    return summary;
  };

  it("warns once the snapshots in use pass 80% of the quota", async () => {
    const summary = await run(8);

    expect(summary.warnings).toEqual([
      "9 of 10 manual DB snapshots are in use in eu-west-1 (over 80%): lower retention or ask AWS to raise the quota",
    ]);
  });

  it("does not warn at exactly 80%", async () => {
    const summary = await run(7);

    expect(summary.warnings).toEqual([]);
  });
});

describe("resolving the database", () => {
  it("fails with DatabaseNotFound when neither DescribeDBInstances nor DescribeDBClusters knows it", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push({ kind: "instance", identifier: "gitpod-old", encrypted: false });

    const run = runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    await expect(run).rejects.toBeInstanceOf(DatabaseNotFoundError);
    await expect(run).rejects.toThrow('No DB instance or DB cluster named "gitpod" in eu-west-1');
    expect(primary.mock.commandCalls(DescribeDBSnapshotsCommand)).toEqual([]);
    expect(writesTo(primary)).toEqual([]);
    expect(writesTo(dr)).toEqual([]);
    expect(primary.view("instance")).toEqual([]);
  });

  it("refuses an Aurora member instance with UnsupportedDatabase naming its cluster", async () => {
    const { primary, deps } = rdsWorld();
    primary.databases.push({
      kind: "cluster",
      identifier: "gitpod-aurora",
      encrypted: true,
      kmsKeyId: PRIMARY_CMK,
    });
    primary.databases.push({
      kind: "instance",
      identifier: "gitpod-aurora-instance-1",
      encrypted: true,
      kmsKeyId: PRIMARY_CMK,
      clusterIdentifier: "gitpod-aurora",
    });

    const run = runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ database: { identifier: "gitpod-aurora-instance-1", kind: "auto" } }),
      deps,
    );

    await expect(run).rejects.toBeInstanceOf(UnsupportedDatabaseError);
    await expect(run).rejects.toMatchObject({ name: "UnsupportedDatabase" });
    await expect(run).rejects.toThrow('set database.identifier to "gitpod-aurora"');
    expect(writesTo(primary)).toEqual([]);
    expect(primary.view("instance")).toEqual([]);
    expect(primary.view("cluster")).toEqual([]);
  });
});
