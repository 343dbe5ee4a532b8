import { describe, expect, it } from "vitest";
import { MAX_CANARIES_OBSERVED } from "../../../packages/core/src/s3/bucket.ts";
import { canaryKey } from "../../../packages/core/src/s3/canary.ts";
import { rotatingSample } from "../../../packages/core/src/s3/discovery.ts";
import { ReplicationUnhealthyError } from "../../../packages/core/src/s3/errors.ts";
import { runStorageCheck, type StorageCheckSummary } from "../../../packages/core/src/s3/job.ts";
import {
  ACCOUNT,
  BATCH_ROLE,
  CANARY_PREFIX,
  DESTINATION,
  DR,
  FakeS3World,
  jobConfig,
  minutesAfter,
  replicationConfig,
  replicationRule,
  SOURCE,
  seededRandom,
  T0,
} from "../../../packages/sim/src/s3/fake-s3.ts";

const RULE = "gitpod-dr-crr";
const run = (world: FakeS3World, config = jobConfig(), now = T0, dryRun = false) =>
  runStorageCheck({ dryRun }, config, world.deps, { now, random: seededRandom(7) });

/** The run's error, which must be a ReplicationUnhealthyError. */
async function unhealthy(promise: Promise<unknown>): Promise<ReplicationUnhealthyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReplicationUnhealthyError);
  return error as ReplicationUnhealthyError;
}

const reportOf = (summary: StorageCheckSummary, bucket: string) => {
  const report = summary.buckets.find((b) => b.bucket === bucket);
  if (!report) throw new Error(`no report for ${bucket}`);
  return report;
};

/** A canary as an earlier run wrote it, `minutes` before `now`. */
const earlierCanary = (world: FakeS3World, minutes: number, nonce: string, bucket = SOURCE) => {
  const key = canaryKey(CANARY_PREFIX, minutesAfter(T0, -minutes), nonce);
  world.put(bucket, key, JSON.stringify({ writtenBy: "gitpod-dr" }));
  return key;
};

describe("a healthy explicit bucket", () => {
  it("writes a canary, verifies it on the next run, publishes its age, and cleans it up after keepMinutes", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair();

    // Act: the first run has nothing to verify yet.
    const first = await run(world);

    // Assess: a canary is written under the canary prefix, on its way to the DR region.
    const canary1 = reportOf(first, SOURCE).canaryWritten as string;
    expect(canary1).toMatch(/^\.gitpod-dr\/canary\/2026-11-26T03-00-00Z-[0-9a-f]{6}$/);
    expect(world.objects(SOURCE, CANARY_PREFIX)).toEqual([
      expect.objectContaining({ key: canary1, status: "PENDING" }),
    ]);
    expect(first).toMatchObject({ health: "healthy", findings: [], canaryBuckets: 1, discoveredBuckets: 0 });
    expect(world.published).toEqual([]);

    // Act: S3 replicates it; the next run, 10 minutes later.
    world.replicate();
    const second = await run(world, jobConfig(), minutesAfter(T0, 10));

    // Assess: the canary arrived; its age is published; a new canary is on its way.
    const report = reportOf(second, SOURCE);
    expect(report).toMatchObject({
      health: "healthy",
      findings: [],
      lastReplicatedCanary: "2026-11-26T03:00:00.000Z",
      secondsSinceReplicatedCanary: 600,
    });
    expect(world.published).toEqual([
      {
        Namespace: "GitpodDR",
        MetricData: [
          {
            MetricName: "SecondsSinceReplicatedCanary",
            Dimensions: [{ Name: "Bucket", Value: SOURCE }],
            Value: 600,
            Unit: "Seconds",
            Timestamp: minutesAfter(T0, 10),
          },
        ],
      },
    ]);
    const canary2 = report.canaryWritten as string;
    expect(world.objects(SOURCE, CANARY_PREFIX).map((o) => [o.key, o.status])).toEqual([
      [canary1, "COMPLETED"],
      [canary2, "PENDING"],
    ]);
    expect(world.objects(DESTINATION, CANARY_PREFIX).map((o) => [o.key, o.status])).toEqual([
      [canary1, "REPLICA"],
    ]);

    // Act: a day and a minute after the first canary.
    world.replicate();
    const third = await run(world, jobConfig(), minutesAfter(T0, 1441));

    // Assess: the first canary is gone from both buckets, every version; the second stays.
    expect(world.versions(SOURCE, canary1)).toEqual([]);
    expect(world.versions(DESTINATION, canary1)).toEqual([]);
    expect(world.objects(SOURCE, CANARY_PREFIX).map((o) => o.key)).toEqual([
      canary2,
      reportOf(third, SOURCE).canaryWritten,
    ]);
    expect(world.objects(DESTINATION, CANARY_PREFIX).map((o) => o.key)).toEqual([canary2]);
    expect(reportOf(third, SOURCE)).toMatchObject({
      health: "healthy",
      secondsSinceReplicatedCanary: 1431 * 60,
    });
  });

  it("deletes every version of a verified canary, delete markers included, and nothing else", async () => {
    // Prepare: an old canary with two versions and a delete marker at the source, and its replica.
    const world = FakeS3World.create();
    world.replicatingPair();
    const key = canaryKey(CANARY_PREFIX, minutesAfter(T0, -2000), "0a0a0a");
    world.put(SOURCE, key, "first", { status: "COMPLETED" });
    world.put(SOURCE, key, "second", { status: "COMPLETED" });
    world.put(SOURCE, "workspaces/keep.tar", "data");
    // A newer canary that arrived too: the old one is no longer the record of the last good replication.
    const keep = earlierCanary(world, 30, "0b0b0b");
    world.replicate();

    // Act
    await run(world);

    // Assess
    expect(world.versions(SOURCE, key)).toEqual([]);
    expect(world.versions(DESTINATION, key)).toEqual([]);
    expect(world.objects(SOURCE).map((o) => o.key)).toContain("workspaces/keep.tar");
    expect(world.objects(SOURCE, CANARY_PREFIX).map((o) => o.key)).toContain(keep);
    expect(world.count("DeleteObject", SOURCE)).toBe(2);
    expect(world.count("DeleteObject", DESTINATION)).toBe(1);
    for (const input of world.inputsOf<{ Key: string; VersionId?: string }>("DeleteObject")) {
      expect(input.Key).toBe(key);
      expect(input.VersionId).toMatch(/^v\d+$/);
    }
  });
});

describe("a stalled bucket", () => {
  it("fails with 'replication is stalled' after the threshold, having checked the other buckets", async () => {
    // Prepare: two explicit buckets; S3 replicates only the second one's canaries.
    const world = FakeS3World.create();
    world.replicatingPair();
    world.replicatingPair("gitpod-registry", "gitpod-registry-dr");
    const config = jobConfig({ buckets: [SOURCE, "gitpod-registry"] });
    const first = await run(world, config);
    const stalled = reportOf(first, SOURCE).canaryWritten as string;
    world.replicate({ buckets: ["gitpod-registry"] });

    // Act: the next run, 61 minutes later.
    const error = await unhealthy(run(world, config, minutesAfter(T0, 61)));

    // Assess
    const finding = {
      bucket: SOURCE,
      severity: "failure",
      check: "canary",
      message: `Bucket ${SOURCE}: replication is stalled: canary ${stalled} written at 2026-11-26T03:00:00.000Z has not arrived in ${DESTINATION} after 61 minutes (threshold 60)`,
    };
    expect(error.message).toContain("S3 replication of stage prod is failing: 1 failure(s) in 1 bucket(s):");
    expect(error.message).toContain(`canary: ${finding.message}`);
    expect(error.summary.findings).toEqual([finding]);
    expect(error.summary.health).toBe("failed");
    expect(reportOf(error.summary, SOURCE).health).toBe("failed");
    // The other bucket was checked and is fine; both got this run's canary.
    expect(reportOf(error.summary, "gitpod-registry")).toMatchObject({
      health: "healthy",
      secondsSinceReplicatedCanary: 61 * 60,
    });
    expect(world.objects("gitpod-registry", CANARY_PREFIX)).toHaveLength(2);
    expect(world.objects(SOURCE, CANARY_PREFIX)).toHaveLength(2);
  });

  it("reports a canary S3 never marked for replication with the rule that covers it now, not as uncovered", async () => {
    // Prepare: a canary written 90 minutes ago that S3 set no replication status on (the rule came later).
    const world = FakeS3World.create();
    world.replicatingPair();
    const key = canaryKey(CANARY_PREFIX, minutesAfter(T0, -90), "aaaaaa");
    world.put(SOURCE, key, JSON.stringify({ writtenBy: "gitpod-dr" }), { status: undefined });

    // Act
    const error = await unhealthy(run(world));

    // Assess
    const messages = error.summary.findings.map((f) => f.message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(
      `canary ${key} (written 2026-11-26T01:30:00.000Z) has no replication status after 90 minutes`,
    );
    expect(messages[0]).toContain(
      `although rule ${RULE} now covers the canary prefix and replicates to ${DESTINATION}`,
    );
    expect(messages[0]).not.toContain("no enabled replication rule covers");
  });

  it("fails a FAILED canary on the next run, without waiting for the threshold", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair();
    const first = await run(world);
    world.replicate({ outcome: "FAILED" });

    // Act: five minutes later.
    const error = await unhealthy(run(world, jobConfig(), minutesAfter(T0, 5)));

    // Assess
    const key = reportOf(first, SOURCE).canaryWritten;
    expect(error.summary.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "canary",
        code: "replication-failed",
        message: `Bucket ${SOURCE}: replication FAILED for canary ${key} (written 2026-11-26T03:00:00.000Z): check the replication role's permissions on ${DESTINATION} and its KMS keys`,
      },
    ]);
  });
});

describe("buckets discovered by prefix", () => {
  it("reports a new per-user bucket that has no replication rule", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair();
    world.replicatingPair("gitpod-user-alice", "dr-gitpod-user-alice");
    world.bucket("gitpod-user-bob", { versioning: "Enabled" });
    world.bucket("unrelated-bucket", { versioning: "Enabled" });
    const config = jobConfig({
      bucketPrefixes: ["gitpod-user-"],
      destinations: { buckets: [DESTINATION], bucketPrefixes: ["dr-gitpod-user-"] },
    });

    // Act
    const error = await unhealthy(run(world, config));

    // Assess
    expect(error.summary.findings).toEqual([
      {
        bucket: "gitpod-user-bob",
        severity: "failure",
        check: "replication-rule",
        message: `Bucket gitpod-user-bob has no replication configuration: nothing in it reaches the DR region. Add a replication rule to a bucket in ${DR}`,
      },
    ]);
    expect(error.summary.buckets.map((b) => [b.bucket, b.discovered, b.health])).toEqual([
      ["gitpod-user-alice", true, "healthy"],
      ["gitpod-user-bob", true, "failed"],
      [SOURCE, false, "healthy"],
    ]);
    expect(world.objects("gitpod-user-alice", CANARY_PREFIX)).toHaveLength(1);
    expect(world.objects("gitpod-user-bob", CANARY_PREFIX)).toEqual([]);
    expect(world.count("GetBucketReplication", "unrelated-bucket")).toBe(0);
  });

  it("writes canaries to 20 of 2,000 discovered buckets per run, and moves the window the next hour", async () => {
    // Prepare: 2,000 per-user buckets, each replicating to its DR twin.
    const world = FakeS3World.create();
    world.replicatingPair();
    const users = Array.from({ length: 2000 }, (_, i) => `gitpod-user-${String(i).padStart(4, "0")}`);
    for (const user of users) world.replicatingPair(user, `dr-${user}`);
    const config = jobConfig({
      bucketPrefixes: ["gitpod-user-"],
      destinations: { buckets: [DESTINATION], bucketPrefixes: ["dr-gitpod-user-"] },
      canary: { discoveredPerRun: 20 },
      sampling: { size: 0 },
    });
    const canaryBuckets = () =>
      world
        .inputsOf<{ Bucket: string }>("PutObject")
        .map((i) => i.Bucket)
        .sort();

    // Act
    const first = await run(world, config);

    // Assess: the explicit bucket and 20 discovered ones, each once; the listing was paged.
    const window1 = canaryBuckets().filter((b) => b !== SOURCE);
    expect(world.count("PutObject")).toBe(21);
    expect(canaryBuckets()).toContain(SOURCE);
    expect(new Set(window1).size).toBe(20);
    expect(first).toMatchObject({ health: "healthy", canaryBuckets: 21, discoveredBuckets: 2000 });
    expect(first.buckets).toHaveLength(2001);
    expect(world.inputsOf("ListBuckets")).toEqual([
      { Prefix: "gitpod-user-", MaxBuckets: 1000 },
      { Prefix: "gitpod-user-", MaxBuckets: 1000, ContinuationToken: expect.any(String) },
    ]);

    // Act: the next hour.
    world.resetCalls();
    await run(world, config, minutesAfter(T0, 60));

    // Assess: the next 20 buckets in name order (the window is contiguous and moved by 20).
    const window2 = canaryBuckets().filter((b) => b !== SOURCE);
    expect(world.count("PutObject")).toBe(21);
    const start1 = users.indexOf(window1[0] as string);
    const start2 = users.indexOf(window2[0] as string);
    expect(window1).toEqual(users.slice(start1, start1 + 20));
    expect(window2).toEqual(users.slice(start2, start2 + 20));
    expect(start2).toBe((start1 + 20) % 2000);
  }, 60_000);
});

describe("sampling", () => {
  it("costs the same number of S3 calls for 10 objects as for 1,000,000", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair("small-bucket", "small-bucket-dr");
    for (let i = 0; i < 10; i++)
      world.put("small-bucket", `data/${i}`, `object ${i}`, { status: "COMPLETED" });
    world.bucket("huge-bucket", {
      versioning: "Enabled",
      replication: replicationConfig(replicationRule("huge-bucket-dr")),
      bulk: { prefix: "data/", count: 1_000_000, status: "COMPLETED" },
    });
    world.bucket("huge-bucket-dr", { region: DR, versioning: "Enabled" });
    const config = jobConfig({
      buckets: ["small-bucket", "huge-bucket"],
      destinations: { buckets: ["small-bucket-dr", "huge-bucket-dr"] },
      sampling: { size: 10 },
    });
    await run(world, config);
    world.replicate();
    world.resetCalls();

    // Act: a run that verifies the canaries and samples both buckets.
    const summary = await run(world, config, minutesAfter(T0, 60));

    // Assess
    const calls = (bucket: string) =>
      ["ListObjectsV2", "HeadObject", "ListBuckets"].map((c) => world.count(c, bucket));
    expect(calls("huge-bucket")).toEqual(calls("small-bucket"));
    expect(world.count("ListObjectsV2", "huge-bucket")).toBe(2);
    expect(world.count("HeadObject", "huge-bucket")).toBe(1 + 10);
    expect(world.calls.filter((c) => c.bucket === "huge-bucket").length).toBe(
      world.calls.filter((c) => c.bucket === "small-bucket").length,
    );
    expect(reportOf(summary, "huge-bucket").sample).toEqual({ COMPLETED: 10 });
    expect(reportOf(summary, "small-bucket").sample).toEqual({ COMPLETED: 10 });
    // One page of at most listLimit keys, whatever the bucket holds.
    expect(world.inputsOf("ListObjectsV2")).toContainEqual({
      Bucket: "huge-bucket",
      Prefix: "",
      MaxKeys: 1000,
    });
  });

  it("counts only objects a replication rule covers as backlog", async () => {
    // Prepare: the rule covers workspaces/ only; objects elsewhere have no status and never will.
    const world = FakeS3World.create();
    world.replicatingPair(SOURCE, DESTINATION, { Filter: { Prefix: "workspaces/" } });
    for (let i = 0; i < 5; i++) world.put(SOURCE, `other/${i}.json`, "x");
    for (let i = 0; i < 5; i++) world.put(SOURCE, `workspaces/${i}.tar`, "x", { status: "COMPLETED" });
    const config = jobConfig({
      prefixes: ["workspaces/"],
      canary: { prefix: "workspaces/.gitpod-dr/canary/" },
    });

    // Act
    const summary = await run(world, config);

    // Assess: the sample saw only covered objects, all replicated; no backlog warning.
    expect(reportOf(summary, SOURCE).sample).toEqual({ COMPLETED: 5 });
    expect(summary.findings.filter((f) => f.check === "sampling")).toEqual([]);
  });

  it("fails FAILED objects found in the sample", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair();
    world.put(SOURCE, "workspaces/a.tar", "a", { status: "FAILED" });
    world.put(SOURCE, "workspaces/b.tar", "b", { status: "COMPLETED" });

    // Act
    const error = await unhealthy(run(world));

    // Assess
    expect(error.summary.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "sampling",
        message: `Bucket ${SOURCE}: 1 of 2 sampled objects FAILED to replicate. Fix the cause (replication role, KMS keys) and re-replicate them (storage.repair)`,
      },
    ]);
    expect(reportOf(error.summary, SOURCE).sample).toEqual({ FAILED: 1, COMPLETED: 1 });
  });
});

describe("replication metrics", () => {
  it("fails failed operations and warns about latency, asking CloudWatch per rule", async () => {
    // Prepare: a rule with metrics (and RTC) enabled; CloudWatch has 3 failed operations, 1,200 s latency.
    const world = FakeS3World.create();
    world.replicatingPair(SOURCE, DESTINATION, {
      Destination: {
        Bucket: `arn:aws:s3:::${DESTINATION}`,
        Metrics: { Status: "Enabled", EventThreshold: { Minutes: 15 } },
        ReplicationTime: { Status: "Enabled", Time: { Minutes: 15 } },
      },
    });
    world.setRuleMetrics(SOURCE, DESTINATION, RULE, {
      OperationsFailedReplication: [1, 2],
      ReplicationLatency: [300, 1200, 60],
      OperationsPendingReplication: [5],
    });

    // Act
    const error = await unhealthy(run(world));

    // Assess
    expect(error.summary.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: 3 replication operations failed in the last 30 minutes (threshold 0). Check the replication role and KMS keys`,
      },
      {
        bucket: SOURCE,
        severity: "warning",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: replication latency reached 1200 s (threshold 900 s)`,
      },
    ]);
    const [query] = world.inputsOf<{
      StartTime: Date;
      EndTime: Date;
      MetricDataQueries: { MetricStat: { Metric: { Namespace: string; Dimensions: unknown } } }[];
    }>("GetMetricData");
    expect(world.count("GetMetricData")).toBe(1);
    expect(query?.StartTime).toEqual(minutesAfter(T0, -30));
    expect(query?.EndTime).toEqual(T0);
    expect(query?.MetricDataQueries).toHaveLength(4);
    for (const q of query?.MetricDataQueries ?? []) {
      expect(q.MetricStat.Metric.Namespace).toBe("AWS/S3");
      expect(q.MetricStat.Metric.Dimensions).toEqual([
        { Name: "SourceBucket", Value: SOURCE },
        { Name: "DestinationBucket", Value: DESTINATION },
        { Name: "RuleId", Value: RULE },
      ]);
    }
  });

  it("does not ask CloudWatch about a rule without metrics", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();

    await run(world);

    expect(world.count("GetMetricData")).toBe(0);
  });
});

describe("repair", () => {
  const repairConfig = (enabled = true) =>
    jobConfig({ repair: { enabled } }, enabled ? { batchRoleArn: BATCH_ROLE } : {});

  /** A bucket whose objects predate the replication rule (no status). */
  function backlog(): FakeS3World {
    const world = FakeS3World.create();
    world.replicatingPair();
    for (const key of ["workspaces/a.tar", "workspaces/b.tar", "workspaces/c.tar"]) {
      world.put(SOURCE, key, key, { status: undefined });
    }
    return world;
  }

  it("starts one S3 Batch Replication job for objects without status, and none while it runs", async () => {
    // Prepare
    const world = backlog();

    // Act
    const first = await run(world, repairConfig());

    // Assess: one job, re-replicating NONE and FAILED objects of the bucket with the configured role.
    expect(world.jobs).toHaveLength(1);
    expect(world.jobs[0]?.input).toMatchObject({
      AccountId: ACCOUNT,
      Operation: { S3ReplicateObject: {} },
      RoleArn: BATCH_ROLE,
      Description: `gitpod-dr replication repair: ${SOURCE}`,
      ConfirmationRequired: false,
      ManifestGenerator: {
        S3JobManifestGenerator: {
          SourceBucket: `arn:aws:s3:::${SOURCE}`,
          Filter: { EligibleForReplication: true, ObjectReplicationStatuses: ["NONE", "FAILED"] },
        },
      },
    });
    expect(reportOf(first, SOURCE)).toMatchObject({
      health: "degraded",
      sample: { NONE: 3 },
      repairJob: { id: "job-1", status: "New", started: true },
    });
    expect(reportOf(first, SOURCE).findings.map((f) => [f.check, f.severity])).toEqual([
      ["sampling", "warning"],
    ]);

    // Act: an hour later S3 works on the job; the backlog is still there.
    (world.jobs[0] as { status: string }).status = "Active";
    const second = await run(world, repairConfig(), minutesAfter(T0, 60));

    // Assess
    expect(world.count("CreateJob")).toBe(1);
    expect(reportOf(second, SOURCE).repairJob).toEqual({ id: "job-1", status: "Active", started: false });
  });

  it("reports a repair job that failed instead of starting another for a day, then tries again", async () => {
    // Prepare: the first run started a job; S3 then failed it (a role problem, say).
    const world = backlog();
    await run(world, repairConfig());
    const job = world.jobs[0] as { status: string; creationTime?: Date };
    job.status = "Failed";
    job.creationTime = T0;

    // Act: an hour later the backlog is still there.
    const error = await unhealthy(run(world, repairConfig(), minutesAfter(T0, 60)));

    // Assess: no second job; the failure names the job and where to look.
    expect(world.count("CreateJob")).toBe(1);
    expect(reportOf(error.summary, SOURCE).repairJob).toEqual({
      id: "job-1",
      status: "Failed",
      started: false,
    });
    expect(error.summary.findings.filter((f) => f.check === "repair")).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "repair",
        message: `Bucket ${SOURCE}: the S3 Batch Replication repair job job-1 failed; no new one is started for a day. See the job in the S3 Batch Operations console (its role, the bucket's region and KMS keys)`,
      },
    ]);

    // Act: a day later, a new job is started (the canaries of this world never replicate, so the run
    // still fails on them).
    const later = (await unhealthy(run(world, repairConfig(), minutesAfter(T0, 24 * 60 + 1)))).summary;
    expect(world.count("CreateJob")).toBe(2);
    expect(reportOf(later, SOURCE).repairJob).toMatchObject({ id: "job-2", started: true });
  });

  it("reports a job still running when the sample shows no backlog any more", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    world.put(SOURCE, "workspaces/a.tar", "a", { status: "COMPLETED" });
    world.jobs.push({
      id: "job-7",
      status: "Completing",
      input: { AccountId: ACCOUNT, Description: `gitpod-dr replication repair: ${SOURCE}` } as never,
    });

    const summary = await run(world, repairConfig());

    expect(reportOf(summary, SOURCE).repairJob).toEqual({
      id: "job-7",
      status: "Completing",
      started: false,
    });
    expect(world.count("CreateJob")).toBe(0);
  });

  it("never starts a job when repair is off", async () => {
    const world = backlog();

    const summary = await run(world, repairConfig(false));

    expect(world.count("CreateJob")).toBe(0);
    expect(world.count("ListJobs")).toBe(0);
    expect(reportOf(summary, SOURCE).repairJob).toBeUndefined();
    expect(reportOf(summary, SOURCE).findings.map((f) => f.check)).toEqual(["sampling"]);
  });

  it("starts a job for a FAILED canary even when the sample looks fine", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    await run(world, repairConfig());
    world.replicate({ outcome: "FAILED" });

    const error = await unhealthy(run(world, repairConfig(), minutesAfter(T0, 5)));

    expect(world.count("CreateJob")).toBe(1);
    expect(reportOf(error.summary, SOURCE).repairJob).toMatchObject({ id: "job-1", started: true });
  });
});

describe("a dry run", () => {
  it("writes, deletes, starts and publishes nothing, and still reports what it finds", async () => {
    // Prepare: a verified canary old enough to delete, a newer stalled one, a backlog, repair on.
    const world = FakeS3World.create();
    world.replicatingPair();
    const verified = earlierCanary(world, 2000, "aaaaaa");
    world.replicate();
    const stalled = earlierCanary(world, 120, "bbbbbb");
    world.put(SOURCE, "workspaces/old.tar", "old", { status: undefined });
    const before = { source: world.objects(SOURCE), destination: world.objects(DESTINATION) };
    const config = jobConfig({ repair: { enabled: true } }, { batchRoleArn: BATCH_ROLE });

    // Act
    const error = await unhealthy(run(world, config, T0, true));

    // Assess
    for (const command of ["PutObject", "DeleteObject", "CreateJob", "PutMetricData"]) {
      expect(world.count(command), command).toBe(0);
    }
    expect(world.objects(SOURCE)).toEqual(before.source);
    expect(world.objects(DESTINATION)).toEqual(before.destination);
    expect(world.versions(SOURCE, verified)).toHaveLength(1);
    expect(error.summary.dryRun).toBe(true);
    expect(error.summary.findings.map((f) => [f.check, f.severity])).toEqual([
      ["canary", "failure"],
      ["sampling", "warning"],
    ]);
    expect(error.summary.findings[0]?.message).toContain(`replication is stalled: canary ${stalled}`);
    expect(reportOf(error.summary, SOURCE)).toMatchObject({
      lastReplicatedCanary: "2026-11-24T17:40:00.000Z",
      secondsSinceReplicatedCanary: 2000 * 60,
    });
    expect(reportOf(error.summary, SOURCE).canaryWritten).toBeUndefined();
  });
});

describe("a bucket the check may not read", () => {
  it("reports an access failure naming the bucket, and checks the others", async () => {
    // Prepare
    const world = FakeS3World.create();
    world.replicatingPair();
    world.replicatingPair("gitpod-locked", "gitpod-locked-dr");
    world.deny("gitpod-locked");

    // Act
    const error = await unhealthy(run(world, jobConfig({ buckets: [SOURCE, "gitpod-locked"] })));

    // Assess
    expect(error.summary.findings).toEqual([
      {
        bucket: "gitpod-locked",
        severity: "failure",
        check: "access",
        message: "Unable to check bucket gitpod-locked: access denied (AccessDenied): Access Denied",
      },
    ]);
    expect(reportOf(error.summary, SOURCE).health).toBe("healthy");
    expect(world.objects(SOURCE, CANARY_PREFIX)).toHaveLength(1);
  });

  it("reports a destination it may not read as a destination failure, and writes no canary", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    world.deny(DESTINATION);

    const error = await unhealthy(run(world));

    expect(error.summary.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "destination",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: the destination bucket ${DESTINATION} cannot be read (AccessDenied). Check it exists and that gitpod-dr may read it (storage.destinations)`,
      },
    ]);
    expect(world.count("PutObject")).toBe(0);
  });
});

describe("rotatingSample", () => {
  const buckets = Array.from({ length: 10 }, (_, i) => `b${i}`);

  it("returns every bucket when there are no more than perRun", () => {
    expect(rotatingSample(buckets.slice(0, 3), 5, T0)).toEqual(["b0", "b1", "b2"]);
  });

  it("visits every bucket within ceil(n / perRun) hourly runs", () => {
    const seen = new Set<string>();
    for (let hour = 0; hour < 4; hour++)
      for (const b of rotatingSample(buckets, 3, minutesAfter(T0, 60 * hour))) seen.add(b);

    expect([...seen].sort()).toEqual([...buckets].sort());
  });
});

// Regression: the window moves by the hour, not by the run. With a daily schedule (allowed by
// storage.schedule) and 480 discovered buckets at 20 per run, every run picks the same 20 buckets: the
// other 460 never get a canary.
describe("discovered buckets with a daily schedule", () => {
  it("get their canaries in turn, a different window each day", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    for (let i = 0; i < 480; i++) {
      const user = `gitpod-user-${String(i).padStart(3, "0")}`;
      world.replicatingPair(user, `dr-${user}`);
    }
    const config = jobConfig({
      schedule: "rate(1 day)",
      bucketPrefixes: ["gitpod-user-"],
      destinations: { buckets: [DESTINATION], bucketPrefixes: ["dr-gitpod-user-"] },
      sampling: { size: 0 },
    });
    const window = () =>
      world
        .inputsOf<{ Bucket: string }>("PutObject")
        .map((i) => i.Bucket)
        .filter((b) => b !== SOURCE)
        .sort();

    await run(world, config);
    const today = window();
    world.replicate();
    world.resetCalls();
    await run(world, config, minutesAfter(T0, 24 * 60));
    const tomorrow = window();

    expect(today).toHaveLength(20);
    expect(tomorrow).toHaveLength(20);
    expect(tomorrow.filter((b) => today.includes(b))).toEqual([]);
  });
});

// Regression: config/example.ts discovers sources by "gitpod-user-" and names destinations
// "gitpod-user-dr-"; ListBuckets lists the account's buckets of every region, so the DR replicas are
// "discovered" as sources and reported as having no replication configuration.
describe("destination buckets whose names match a source prefix (as in config/example.ts)", () => {
  it("are not checked as sources", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    world.replicatingPair("gitpod-user-alice", "gitpod-user-dr-alice");
    const config = jobConfig({
      bucketPrefixes: ["gitpod-user-"],
      destinations: { buckets: [DESTINATION], bucketPrefixes: ["gitpod-user-dr-"] },
    });

    const summary = await run(world, config);

    expect(summary.findings).toEqual([]);
    expect(summary.buckets.map((b) => b.bucket)).toEqual(["gitpod-user-alice", SOURCE]);
    expect(world.count("PutObject", "gitpod-user-dr-alice")).toBe(0);
  });
});

// Regression: canaries are listed with one ListObjectsV2 page of 200 keys, oldest first. With a
// 5-minute schedule and the default keepMinutes (1,440) a bucket holds 288 canaries; the newest 88 are
// never looked at, so a stall of the last two hours goes unreported and the canary age is wrong.
describe("more canaries than one listing page", () => {
  it("still sees the newest canaries", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    for (let i = 288; i > 24; i--) earlierCanary(world, 5 * i, `c${i}`);
    world.replicate();
    for (let i = 24; i >= 1; i--) earlierCanary(world, 5 * i, `c${i}`);
    const config = jobConfig({ schedule: "rate(5 minutes)" });

    const error = await unhealthy(run(world, config));

    expect(error.summary.findings.filter((f) => f.message.includes("replication is stalled"))).toHaveLength(
      12,
    );
    expect(reportOf(error.summary, SOURCE).secondsSinceReplicatedCanary).toBe(125 * 60);
    // The cost stays bounded: only the newest canaries are looked at (one HEAD each at the source, and
    // one at the destination for those replicated), whatever the keep time and schedule.
    expect(world.count("HeadObject", SOURCE)).toBeLessThanOrEqual(MAX_CANARIES_OBSERVED + 20);
  });
});
