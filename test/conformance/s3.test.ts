/**
 * Conformance: the S3 replication check (`runStorageCheck` and its S3 calls in s3/api.ts) against
 * moto_server and against our fake (packages/sim/src/s3/fake-s3.ts), the same buckets built in both, the
 * same runs, the end states compared. moto does not replicate objects and never sets ReplicationStatus,
 * and it reads back a reduced replication rule (moto-gaps.ts): what those gaps change is asserted as
 * such, everything else must agree. The worlds are in s3-worlds.ts; the check's calls one by one and the
 * CloudWatch round trip in s3-calls.test.ts.
 */

import type { ReplicationConfiguration } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { readRegion, readReplication, readVersioning } from "../../packages/core/src/s3/api.ts";
import {
  CANARY_PREFIX,
  DESTINATION,
  DR,
  jobConfig,
  minutesAfter,
  replicationConfig,
  replicationRule,
  SOURCE,
  T0,
} from "../../packages/sim/src/s3/fake-s3.ts";
import { useMoto } from "../fixtures/moto.ts";
import { type Bucket, fakeWorld, gap, motoWorld, objects, run, type seen, type World } from "./s3-worlds.ts";

const moto = useMoto();

const healthyPair = (rule = {}): Bucket[] => [
  { name: SOURCE, versioning: "Enabled", replication: replicationConfig(replicationRule(DESTINATION, rule)) },
  { name: DESTINATION, region: DR, versioning: "Enabled" },
];

describe("the S3 check on a healthy pair: moto and the fake agree but for replication itself", () => {
  it("audits, writes a canary per run and reads it back; only the fake replicates it", async () => {
    const onMoto = await motoWorld(moto);
    const onFake = fakeWorld();
    const runs: Record<World["name"], unknown[]> = { moto: [], fake: [] };
    const state: Record<World["name"], unknown> = { moto: undefined, fake: undefined };
    for (const world of [onMoto, onFake]) {
      await world.build(healthyPair());
      for (const minutes of [0, 30, 90]) {
        runs[world.name].push(await run(world, minutesAfter(T0, minutes)));
        await world.replicate();
      }
      state[world.name] = {
        source: await objects(world.deps.s3, SOURCE, CANARY_PREFIX),
        destination: await objects(world.deps.s3Dr, DESTINATION, CANARY_PREFIX),
        versioning: [
          await readVersioning(world.deps.s3, SOURCE),
          await readVersioning(world.deps.s3Dr, DESTINATION),
        ],
        regions: [await readRegion(world.deps.s3, SOURCE), await readRegion(world.deps.s3Dr, DESTINATION)],
        replication: await readReplication(world.deps.s3, SOURCE),
      };
    }
    const [motoRuns, fakeRuns] = [runs.moto, runs.fake];

    // The first run is the same in both: healthy, one canary written (nothing to read back yet).
    expect(motoRuns[0]).toEqual(fakeRuns[0]);
    expect(fakeRuns[0]).toMatchObject({
      health: "healthy",
      buckets: [
        { bucket: SOURCE, findings: [], canaryWritten: `${CANARY_PREFIX}2026-11-26T03-00-00Z-<nonce>` },
      ],
    });
    // The fake, like S3, replicated the first canary before the second run, which finds it arrived;
    // on moto the canary never gets a status (MOTO_S3_GAPS ReplicationStatus), so it stays pending…
    expect(fakeRuns[1]).toMatchObject({
      health: "healthy",
      buckets: [{ lastReplicatedCanary: T0.toISOString(), secondsSinceReplicatedCanary: 1800 }],
    });
    expect(motoRuns[1]).toMatchObject({ health: "healthy", buckets: [{ findings: [] }] });
    expect(motoRuns[1]).not.toHaveProperty("buckets.0.lastReplicatedCanary", expect.anything());
    // …and past stalledAfterMinutes (60) it is reported as never having had a status.
    expect(fakeRuns[2]).toMatchObject({ health: "healthy", buckets: [{ findings: [] }] });
    expect(motoRuns[2]).toMatchObject({
      health: "failed",
      buckets: [
        {
          findings: [
            {
              check: "canary",
              severity: "failure",
              message: expect.stringContaining("has no replication status after 90 minutes"),
            },
          ],
        },
      ],
    });

    // End state: the same canaries in the source (three, none cleaned up within keepMinutes), the same
    // sizes and ETags; the statuses and replicas are what S3 replication adds, which moto lacks.
    const motoState = state.moto as { source: { key: string; status?: string }[]; destination: unknown[] };
    const fakeState = state.fake as typeof motoState;
    const withoutStatus = (list: { status?: string }[]) => list.map(({ status: _, ...rest }) => rest);
    expect(withoutStatus(motoState.source)).toEqual(withoutStatus(fakeState.source));
    expect(motoState.source.map((o) => o.key)).toEqual([
      `${CANARY_PREFIX}2026-11-26T03-00-00Z-<nonce>`,
      `${CANARY_PREFIX}2026-11-26T03-30-00Z-<nonce>`,
      `${CANARY_PREFIX}2026-11-26T04-30-00Z-<nonce>`,
    ]);
    expect(fakeState.source.map((o) => o.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED"]);
    expect(fakeState.destination).toHaveLength(3);
    expect(motoState.destination).toEqual([]);
    // Each gap is still one: moto sets no status, and replicates nothing.
    expect(motoState.source.every((o) => o.status === undefined)).toBe(true);
    expect(gap("ReplicationStatus").aws).toMatch(/HeadObject/);
    // Versioning, regions and the rule as read back (a rule within what moto keeps) agree.
    const { source: _s, destination: _d, ...motoRest } = motoState as Record<string, unknown>;
    const { source: _fs, destination: _fd, ...fakeRest } = fakeState as Record<string, unknown>;
    expect(motoRest).toEqual(fakeRest);
  }, 45_000);
});

/** Buckets in the states the audit judges, one source each (names are global: one world each). */
const judged = (): Bucket[] => [
  ...healthyPair(),
  // A rule for part of the bucket only (the check expects the whole bucket).
  {
    name: "src-prefix",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule(DESTINATION, { Filter: { Prefix: "logs/" } })),
  },
  // Delete markers replicated (storage.expect.deleteMarkerReplication "Disabled" below).
  {
    name: "src-delete-markers",
    versioning: "Enabled",
    replication: replicationConfig(
      replicationRule(DESTINATION, { DeleteMarkerReplication: { Status: "Enabled" } }),
    ),
  },
  // A V1 rule (Prefix, no Filter): S3 replicates its delete markers.
  {
    name: "src-v1",
    versioning: "Enabled",
    replication: replicationConfig({
      ID: "gitpod-dr-v1",
      Status: "Enabled",
      Prefix: "",
      Destination: { Bucket: `arn:aws:s3:::${DESTINATION}` },
    }),
  },
  // SSE-KMS, with the rule selecting SSE-KMS objects and a replica key.
  {
    name: "src-kms",
    versioning: "Enabled",
    encryption: "aws:kms",
    replication: replicationConfig(
      replicationRule(DESTINATION, {
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: "Enabled" } },
        Destination: {
          Bucket: `arn:aws:s3:::${DESTINATION}`,
          EncryptionConfiguration: { ReplicaKmsKeyID: "arn:aws:kms:eu-central-1:123456789012:key/replica" },
        },
      }),
    ),
  },
  // Replicating to an unversioned bucket, and to a bucket in the primary region.
  {
    name: "src-unversioned-dest",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule("dst-unversioned")),
  },
  { name: "dst-unversioned", region: DR },
  {
    name: "src-same-region",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule("dst-primary")),
  },
  { name: "dst-primary", versioning: "Enabled" },
  // No replication at all, and not versioned.
  { name: "src-plain" },
];

const judgedConfig = () =>
  jobConfig({
    buckets: [
      SOURCE,
      "src-prefix",
      "src-delete-markers",
      "src-v1",
      "src-kms",
      "src-unversioned-dest",
      "src-same-region",
      "src-plain",
    ],
    destinations: { buckets: [DESTINATION, "dst-unversioned", "dst-primary"], bucketPrefixes: [] },
    expect: { deleteMarkerReplication: "Disabled" },
  });

describe("the configuration audit: moto and the fake agree but for what moto drops from a rule", () => {
  it("finds the same problems in every bucket except the rule parts moto does not read back", async () => {
    const onMoto = await motoWorld(moto);
    const onFake = fakeWorld();
    const rules: Record<string, Record<string, ReplicationConfiguration | undefined>> = {};
    const results: Record<string, ReturnType<typeof seen>> = {};
    for (const world of [onMoto, onFake]) {
      await world.build(judged());
      results[world.name] = await run(world, T0, judgedConfig(), true);
      const read: Record<string, ReplicationConfiguration | undefined> = {};
      for (const b of judged()) {
        if (b.replication) read[b.name] = await readReplication(world.deps.s3, b.name);
      }
      rules[world.name] = read;
    }
    const byBucket = (name: string) => ({
      moto: results.moto?.buckets.find((b) => b.bucket === name),
      fake: results.fake?.buckets.find((b) => b.bucket === name),
    });
    const checks = (report: { findings: { check: string; severity: string }[] } | undefined) =>
      report?.findings.map((f) => `${f.severity} ${f.check}`);

    // Where moto keeps what the audit reads, the findings are the same, word for word.
    for (const name of [SOURCE, "src-unversioned-dest", "src-same-region", "src-plain"]) {
      const { moto: m, fake: f } = byBucket(name);
      expect(m, name).toEqual(f);
    }
    expect(checks(byBucket(SOURCE).fake)).toEqual([]);
    expect(checks(byBucket("src-unversioned-dest").fake)).toEqual(["failure versioning"]);
    expect(checks(byBucket("src-same-region").fake)).toEqual(["failure destination"]);
    expect(checks(byBucket("src-plain").fake)).toEqual(["failure versioning", "failure replication-rule"]);

    // The rule parts moto drops (MOTO_S3_GAPS): the fake, like S3, reads back what was put, and the
    // audit judges it; on moto the audit sees a whole-bucket rule without delete markers or SSE-KMS criteria.
    expect(rules.fake?.["src-prefix"]?.Rules?.[0]?.Filter).toEqual({ Prefix: "logs/" });
    expect(rules.moto?.["src-prefix"]?.Rules?.[0]?.Filter).toEqual({ Prefix: "" });
    expect(checks(byBucket("src-prefix").fake)).toEqual(["failure coverage"]);
    expect(checks(byBucket("src-prefix").moto)).toEqual([]);
    expect(gap("Filter.Prefix")).toBeDefined();

    expect(rules.fake?.["src-delete-markers"]?.Rules?.[0]?.DeleteMarkerReplication).toEqual({
      Status: "Enabled",
    });
    expect(rules.moto?.["src-delete-markers"]?.Rules?.[0]?.DeleteMarkerReplication).toEqual({
      Status: "Disabled",
    });
    expect(checks(byBucket("src-delete-markers").fake)).toEqual(["failure delete-markers"]);
    expect(checks(byBucket("src-delete-markers").moto)).toEqual([]);
    expect(gap("DeleteMarkerReplication")).toBeDefined();

    // A V1 rule reads back as a V2 rule with delete markers Disabled on moto.
    expect(rules.fake?.["src-v1"]?.Rules?.[0]?.Filter).toBeUndefined();
    expect(rules.moto?.["src-v1"]?.Rules?.[0]).toMatchObject({
      Filter: { Prefix: "" },
      DeleteMarkerReplication: { Status: "Disabled" },
    });
    expect(checks(byBucket("src-v1").fake)).toEqual(["failure delete-markers"]);
    expect(checks(byBucket("src-v1").moto)).toEqual([]);

    expect(rules.fake?.["src-kms"]?.Rules?.[0]?.SourceSelectionCriteria).toEqual({
      SseKmsEncryptedObjects: { Status: "Enabled" },
    });
    expect(rules.moto?.["src-kms"]?.Rules?.[0]?.SourceSelectionCriteria).toBeUndefined();
    expect(checks(byBucket("src-kms").fake)).toEqual([]);
    expect(checks(byBucket("src-kms").moto)).toEqual(["failure sse-kms"]);
    expect(gap("SourceSelectionCriteria")).toBeDefined();

    // Everything else of each rule reads back the same (ID, priority, status, destination, role).
    // (A V1 rule has no priority; moto gives it Priority 1 with the rest of its V2 form.)
    const kept = (c: ReplicationConfiguration | undefined, v1: boolean) => ({
      Role: c?.Role,
      Rules: c?.Rules?.map((r) => ({
        ID: r.ID,
        ...(v1 ? {} : { Priority: r.Priority }),
        Status: r.Status,
        Destination: r.Destination,
      })),
    });
    for (const name of Object.keys(rules.fake ?? {})) {
      const v1 = rules.fake?.[name]?.Rules?.[0]?.Filter === undefined;
      expect(kept(rules.moto?.[name], v1), name).toEqual(kept(rules.fake?.[name], v1));
    }
    expect(rules.moto?.["src-v1"]?.Rules?.[0]?.Priority).toBe(1);
  }, 45_000);
});
