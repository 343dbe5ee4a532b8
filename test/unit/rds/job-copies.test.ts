import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import {
  CopyDBSnapshotCommand,
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  KMSKeyNotAccessibleFault,
  SnapshotQuotaExceededFault,
} from "@aws-sdk/client-rds";
import { describe, expect, it } from "vitest";
import { JobTimeoutError } from "../../../packages/core/src/errors.ts";
import { SnapshotJobIncompleteError } from "../../../packages/core/src/rds/errors.ts";
import { type RdsJobSummary, runRdsSnapshotJob } from "../../../packages/core/src/rds/job.ts";
import {
  AWS_RDS_KEY,
  ago,
  copyOf,
  DR_KEY_OTHER_ACCOUNT,
  DR_KEY_SAME_ACCOUNT,
  foreign,
  gitpodInstance,
  jobConfig,
  ours,
  rdsWorld,
  THIS_WINDOW,
  TIME,
  writesTo,
} from "../../../packages/sim/src/rds/fake-rds.ts";

describe("copies to the DR region", () => {
  it("waits while the primary snapshot is creating, and a later run copies it", async () => {
    // Prepare: the previous hourly window's snapshot is still being created.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const previous = primary.add("instance", ours("gitpod", ago(0, 1), { status: "creating" }));

    // Act
    const first = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess: nothing was copied; both snapshots wait for creation.
    expect(dr.mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
    expect(dr.view("instance")).toEqual([]);
    expect(first.copied).toEqual([]);
    expect(first.waitingForCreation.sort()).toEqual([previous.identifier, THIS_WINDOW].sort());

    // Act: RDS finishes both; the event of this window is delivered again.
    for (const s of primary.snapshots.instance) s.status = "available";
    const second = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess: both are now copied, newest first, with the DR key.
    expect(second.alreadyExisted).toEqual([THIS_WINDOW]);
    expect(second.copied).toEqual([THIS_WINDOW, previous.identifier]);
    expect(dr.view("instance").map((s) => [s.identifier, s.status, s.kmsKeyId])).toEqual([
      [previous.identifier, "pending", DR_KEY_SAME_ACCOUNT],
      [THIS_WINDOW, "pending", DR_KEY_SAME_ACCOUNT],
    ]);
  });

  it("starts only as many copies as the DR region's limit of 5 leaves free, newest first", async () => {
    // Prepare: 3 copies in progress in the DR region (2 of ours, 1 of somebody else's), a manual
    // snapshot being created there (not a copy: it does not count), and 4 snapshots waiting to be copied.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const copying1 = primary.add("instance", ours("gitpod", ago(5)));
    const copying2 = primary.add("instance", ours("gitpod", ago(6)));
    dr.add("instance", copyOf(primary, "instance", copying1, { status: "copying" }));
    dr.add("instance", copyOf(primary, "instance", copying2, { status: "pending" }));
    const notOurs = primary.add("instance", foreign("reporting-before-upgrade", "reporting", ago(0, 2)));
    dr.add(
      "instance",
      foreign("reporting-before-upgrade", "reporting", ago(0, 2), {
        status: "copying",
        sourceArn: primary.arn("instance", notOurs.identifier),
      }),
    );
    dr.add("instance", foreign("dr-local-manual", "dr-local", ago(0, 1), { status: "creating" }));
    const candidates = [1, 2, 3, 4].map((days) => primary.add("instance", ours("gitpod", ago(days))));

    // Act
    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ maxConcurrentCopies: 5 }),
      deps,
    );

    // Assess: exactly 2 copies started, of the 2 newest candidates; the other 2 wait.
    const [c1, c2, c3, c4] = candidates.map((c) => c.identifier);
    expect(dr.mock.commandCalls(CopyDBSnapshotCommand)).toHaveLength(2);
    expect(summary.copied).toEqual([c1, c2]);
    expect(summary.copiesDeferred).toEqual([c3, c4]);
    expect(summary.copiesInProgress.sort()).toEqual([copying1.identifier, copying2.identifier].sort());
    expect(summary.warnings).toContain(
      "2 cross-region copies wait for a free slot (5 may run at once in eu-central-1); a later run starts them",
    );
    expect(summary.problems).toEqual([]);
    const inDr = new Map(dr.view("instance").map((s) => [s.identifier, s]));
    expect(inDr.get(c1 as string)).toMatchObject({ status: "pending", kmsKeyId: DR_KEY_SAME_ACCOUNT });
    expect(inDr.get(c2 as string)).toMatchObject({ status: "pending", kmsKeyId: DR_KEY_SAME_ACCOUNT });
    expect(inDr.has(c3 as string)).toBe(false);
    expect(inDr.has(c4 as string)).toBe(false);
    expect(dr.view("instance").filter((s) => s.status === "pending" || s.status === "copying")).toHaveLength(
      5,
    );
    // The deferred ones have no DR copy yet, so retention keeps them in the primary region.
    expect(primary.identifiers("instance")).toEqual(expect.arrayContaining([c3, c4]));
  });

  it("deletes a failed DR copy of ours, reports it, keeps the primary, and the next run copies it again", async () => {
    // Prepare: a copy of ours failed; somebody else's failed copy is not ours to remove.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const source = primary.add("instance", ours("gitpod", ago(1)));
    dr.add("instance", copyOf(primary, "instance", source, { status: "failed", kmsKeyId: "stale-key" }));
    dr.add(
      "instance",
      foreign("someone-elses-copy", "reporting", ago(3), { status: "failed", sourceArn: "x" }),
    );

    // Act: this run removes the failed copy (RDS may hold the name while it deletes) ...
    const first = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    // Assess
    expect(
      dr.mock.commandCalls(DeleteDBSnapshotCommand).map((c) => c.args[0].input.DBSnapshotIdentifier),
    ).toEqual([source.identifier]);
    expect(first.failedCopiesRemoved).toEqual([source.identifier]);
    expect(first.warnings).toContain(
      `The DR copy ${source.identifier} in eu-central-1 had failed; it was deleted so that the next run copies it again`,
    );
    expect(first.copied).toEqual([]);
    expect(first.kept.primary).toContainEqual(
      expect.objectContaining({ identifier: source.identifier, reason: "newest-available" }),
    );
    expect(dr.find("instance", source.identifier)).toBeUndefined();

    // ... and the next run copies it again.
    const second = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);
    expect(second.copied).toEqual([source.identifier]);
    expect(dr.view("instance")).toEqual([
      {
        identifier: source.identifier,
        status: "pending",
        tags: { ...source.tags, "gitpod-dr:source-snapshot": primary.arn("instance", source.identifier) },
        kmsKeyId: DR_KEY_SAME_ACCOUNT,
        sourceArn: primary.arn("instance", source.identifier),
      },
      expect.objectContaining({ identifier: "someone-elses-copy", status: "failed" }),
    ]);
  });
});

describe("snapshots that cannot be copied as they are", () => {
  it("reports a failed primary snapshot, never copies or deletes it, and finishes the rest", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const failed = primary.add("instance", ours("gitpod", ago(1), { status: "failed" }));
    const good = primary.add("instance", ours("gitpod", ago(2)));

    const error = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    expect((error as SnapshotJobIncompleteError).problems).toEqual([
      `Snapshot ${failed.identifier} in eu-west-1 failed to be created; RDS keeps it as failed. Find out why (RDS events of gitpod), then delete it: gitpod-dr never deletes a snapshot that is not available`,
    ]);
    expect(dr.identifiers("instance")).toEqual([good.identifier]);
    expect(primary.find("instance", failed.identifier)).toMatchObject({ status: "failed" });
    expect(primary.identifiers("instance")).toContain(THIS_WINDOW);
  });

  it("reports a DR snapshot of the same name that is not ours, never overwrites it, and keeps the primary", async () => {
    // Prepare: an expired snapshot of ours, whose name is taken in the DR region by a hand-made one.
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const newest = primary.add("instance", ours("gitpod", ago(1)));
    const recent = primary.add("instance", ours("gitpod", ago(2)));
    const blocked = primary.add("instance", ours("gitpod", ago(30)));
    dr.add("instance", copyOf(primary, "instance", newest));
    dr.add("instance", copyOf(primary, "instance", recent));
    const namesake = dr.add("instance", foreign(blocked.identifier, "gitpod", ago(3)));

    // Act
    const error = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ drRetention: { keepLast: 2, maxAgeDays: 60 } }),
      deps,
    ).catch((e: unknown) => e);

    // Assess: named as a problem; no copy over it; it is untouched; the primary keeps the original.
    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    expect((error as SnapshotJobIncompleteError).problems).toEqual([
      expect.stringContaining(
        `Snapshot ${blocked.identifier} cannot be copied: a snapshot with that name in eu-central-1 was not created by gitpod-dr`,
      ),
    ]);
    expect(dr.mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
    expect(dr.find("instance", blocked.identifier)).toEqual(namesake);
    expect(primary.find("instance", blocked.identifier)).toBeDefined();
  });

  it("copies an unencrypted cluster snapshot without a KMS key, which RDS would refuse", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push({ kind: "cluster", identifier: "gitpod", encrypted: false });
    const plain = primary.add("cluster", ours("gitpod", ago(1), { encrypted: false, kmsKeyId: undefined }));

    const summary = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), deps);

    expect(summary.copied).toEqual([plain.identifier]);
    expect(dr.view("cluster")).toEqual([
      {
        identifier: plain.identifier,
        status: "pending",
        tags: { ...plain.tags, "gitpod-dr:source-snapshot": primary.arn("cluster", plain.identifier) },
        sourceArn: primary.arn("cluster", plain.identifier),
      },
    ]);
  });
});

describe("a database encrypted with the AWS managed key aws/rds", () => {
  it("is not copied to a DR key in another account; retention still runs and the job fails naming it", async () => {
    // Prepare: two snapshots under aws/rds wait for a copy; an expired one (copied before the DR key moved
    // to another account) and an expired DR copy wait for retention.
    const { primary, dr, kms, deps } = rdsWorld();
    primary.databases.push(gitpodInstance({ kmsKeyId: AWS_RDS_KEY }));
    const d1 = primary.add("instance", ours("gitpod", ago(1), { kmsKeyId: AWS_RDS_KEY }));
    const d2 = primary.add("instance", ours("gitpod", ago(2), { kmsKeyId: AWS_RDS_KEY }));
    const expired = primary.add("instance", ours("gitpod", ago(9), { kmsKeyId: AWS_RDS_KEY }));
    dr.add("instance", copyOf(primary, "instance", expired));
    const expiredCopy = dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(10))));
    const config = jobConfig({
      drKmsKeyArn: DR_KEY_OTHER_ACCOUNT,
      retention: { keepLast: 1, maxAgeDays: 7 },
      drRetention: { keepLast: 1, maxAgeDays: 7 },
    });

    // Act
    const error = await runRdsSnapshotJob({ time: TIME, dryRun: false }, config, deps).catch(
      (e: unknown) => e,
    );

    // Assess: the job failed with a named error that names both snapshots…
    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    const incomplete = error as SnapshotJobIncompleteError;
    expect(incomplete.name).toBe("SnapshotJobIncomplete");
    expect(incomplete.problems).toHaveLength(2);
    expect(incomplete.message).toContain(
      `Snapshot ${d1.identifier} is encrypted with the AWS managed key aws/rds`,
    );
    expect(incomplete.message).toContain(
      `Snapshot ${d2.identifier} is encrypted with the AWS managed key aws/rds`,
    );
    expect(incomplete.message).toContain("account 222222222222");
    for (const problem of incomplete.problems) expect(problem).toMatch(/ \[DefaultKmsKeyNotShareable\]$/);
    // …no copy was attempted, KMS was asked once about the key…
    expect(dr.mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
    expect(kms.mock.commandCalls(DescribeKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([
      AWS_RDS_KEY,
    ]);
    expect(dr.find("instance", d1.identifier)).toBeUndefined();
    expect(dr.find("instance", d2.identifier)).toBeUndefined();
    // …and the rest of the job ran: this window's snapshot exists, retention deleted in both regions.
    expect(primary.identifiers("instance")).toEqual([d2.identifier, d1.identifier, THIS_WINDOW]);
    expect(dr.identifiers("instance")).toEqual([expired.identifier]);
    expect(dr.find("instance", expiredCopy.identifier)).toBeUndefined();
    expect(incomplete.summary).toMatchObject({
      created: [THIS_WINDOW],
      copied: [],
      deleted: {
        primary: [expect.objectContaining({ identifier: expired.identifier, reason: "expired" })],
        dr: [expect.objectContaining({ identifier: expiredCopy.identifier, reason: "expired" })],
      },
    });
  });

  it("reports a KMS key that cannot be described by name, and still runs retention", async () => {
    const { primary, dr, kms, deps } = rdsWorld();
    primary.databases.push(gitpodInstance({ kmsKeyId: AWS_RDS_KEY }));
    const d1 = primary.add("instance", ours("gitpod", ago(1), { kmsKeyId: AWS_RDS_KEY }));
    // Copied before the DR key moved accounts: the newest available copy in DR.
    const copied = primary.add("instance", ours("gitpod", ago(2), { kmsKeyId: AWS_RDS_KEY }));
    dr.add("instance", copyOf(primary, "instance", copied));
    const expiredCopy = dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(30))));
    kms.mock.on(DescribeKeyCommand).rejects(
      Object.assign(new Error("not authorized to perform kms:DescribeKey"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const error = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ drKmsKeyArn: DR_KEY_OTHER_ACCOUNT, drRetention: { keepLast: 1, maxAgeDays: 7 } }),
      deps,
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    expect((error as SnapshotJobIncompleteError).problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Unable to describe the KMS key of snapshot ${d1.identifier}: access denied .*\\[AwsAccessDenied\\]$`,
        ),
      ),
    ]);
    expect(dr.mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
    expect(dr.find("instance", expiredCopy.identifier)).toBeUndefined();
  });

  it("is copied without asking KMS when the DR key is in the database's account", async () => {
    const { primary, dr, kms, deps } = rdsWorld();
    primary.databases.push(gitpodInstance({ kmsKeyId: AWS_RDS_KEY }));
    const d1 = primary.add("instance", ours("gitpod", ago(1), { kmsKeyId: AWS_RDS_KEY }));

    const summary = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ drKmsKeyArn: DR_KEY_SAME_ACCOUNT }),
      deps,
    );

    expect(kms.mock.commandCalls(DescribeKeyCommand)).toEqual([]);
    expect(summary.copied).toEqual([d1.identifier]);
    expect(summary.problems).toEqual([]);
    expect(dr.view("instance")).toEqual([
      expect.objectContaining({
        identifier: d1.identifier,
        status: "pending",
        kmsKeyId: DR_KEY_SAME_ACCOUNT,
      }),
    ]);
    expect(writesTo(dr)).toEqual(["CopyDBSnapshotCommand"]);
  });
});

describe("a change that fails does not stop the others", () => {
  it("reports a refused copy by name, still starts the other copies and runs retention in both regions", async () => {
    // Prepare: three snapshots to copy; RDS refuses the middle one (a key it may not use).
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const a1 = primary.add("instance", ours("gitpod", ago(1)));
    const a2 = primary.add("instance", ours("gitpod", ago(2)));
    const a3 = primary.add("instance", ours("gitpod", ago(3)));
    const expired = primary.add("instance", ours("gitpod", ago(20)));
    dr.add("instance", copyOf(primary, "instance", expired));
    const expiredInDr = dr.add("instance", copyOf(primary, "instance", ours("gitpod", ago(30))));
    dr.mock
      .on(CopyDBSnapshotCommand, { TargetDBSnapshotIdentifier: a2.identifier })
      .rejects(
        new KMSKeyNotAccessibleFault({ message: "The specified KMS key is not accessible", $metadata: {} }),
      );

    // Act
    const error = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ retention: { keepLast: 1, maxAgeDays: 7 }, drRetention: { keepLast: 1, maxAgeDays: 7 } }),
      deps,
    ).catch((e: unknown) => e);

    // Assess: the job fails naming the snapshot and what to check ...
    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    const { problems, summary } = error as SnapshotJobIncompleteError & { summary: RdsJobSummary };
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Unable to copy snapshot ${a2.identifier} to eu-central-1: access denied \\(KMSKeyNotAccessibleFault\\).*\\[AwsAccessDenied\\]. If the database is encrypted with a customer managed key, set database.kmsKeyArn`,
        ),
      ),
    ]);
    // ... after copying the others and applying retention in both regions.
    expect(summary.copied.sort()).toEqual([a1.identifier, a3.identifier].sort());
    expect(dr.find("instance", a1.identifier)).toMatchObject({ status: "pending" });
    expect(dr.find("instance", a3.identifier)).toMatchObject({ status: "pending" });
    expect(dr.find("instance", a2.identifier)).toBeUndefined();
    expect(primary.find("instance", expired.identifier)).toBeUndefined();
    // In DR the new copies are not available yet, so the 20-day copy is the newest available one there.
    expect(dr.find("instance", expired.identifier)).toMatchObject({ status: "available" });
    expect(dr.find("instance", expiredInDr.identifier)).toBeUndefined();
    // a2 has no DR copy: the primary keeps it.
    expect(primary.find("instance", a2.identifier)).toBeDefined();
  });

  it("still applies retention when RDS refuses this window's snapshot (quota full), which frees the quota", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    const newest = primary.add("instance", ours("gitpod", ago(1)));
    const expired = primary.add("instance", ours("gitpod", ago(20)));
    dr.add("instance", copyOf(primary, "instance", newest));
    dr.add("instance", copyOf(primary, "instance", expired));
    primary.mock.on(CreateDBSnapshotCommand).rejects(
      new SnapshotQuotaExceededFault({
        message: "Cannot create more than 100 manual snapshots",
        $metadata: {},
      }),
    );

    const error = await runRdsSnapshotJob(
      { time: TIME, dryRun: false },
      jobConfig({ retention: { keepLast: 1, maxAgeDays: 7 }, drRetention: { keepLast: 1, maxAgeDays: 7 } }),
      deps,
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SnapshotJobIncompleteError);
    expect((error as SnapshotJobIncompleteError).problems).toEqual([
      expect.stringMatching(
        /^Unable to create snapshot gitpod-dr-gitpod-2026-11-26-0300 of DB instance gitpod: SnapshotQuotaExceeded/,
      ),
    ]);
    expect(primary.find("instance", THIS_WINDOW)).toBeUndefined();
    expect(primary.find("instance", expired.identifier)).toBeUndefined();
    expect(dr.find("instance", expired.identifier)).toBeUndefined();
    expect(primary.find("instance", newest.identifier)).toBeDefined();
  });

  it("starts no change once the invocation has given up (early timeout), and says so", async () => {
    const { primary, dr, deps } = rdsWorld();
    primary.databases.push(gitpodInstance());
    primary.add("instance", ours("gitpod", ago(1)));
    const expired = primary.add("instance", ours("gitpod", ago(20)));
    dr.add("instance", copyOf(primary, "instance", expired));
    const controller = new AbortController();
    // The handler gives up while the job creates this window's snapshot.
    primary.beforeCreate = () => controller.abort();

    const error = await runRdsSnapshotJob({ time: TIME, dryRun: false }, jobConfig(), {
      ...deps,
      signal: controller.signal,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobTimeoutError);
    expect(writesTo(dr)).toEqual([]);
    expect(primary.find("instance", expired.identifier)).toBeDefined();
  });
});
