/**
 * Conformance: the RDS snapshot job against moto_server (an independent implementation of RDS and KMS)
 * and against our own fake (packages/sim/src/rds/fake-rds.ts), the same scenario on both, through the
 * job's real code. The end states must agree except where moto-gaps.ts says moto differs from AWS.
 */
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  type Tag,
} from "@aws-sdk/client-rds";
import { describe, expect, it } from "vitest";
import type { RdsJobConfig } from "../../packages/core/src/config.ts";
import { type RdsJobDeps, type RdsJobSummary, runRdsSnapshotJob } from "../../packages/core/src/rds/job.ts";
import type { DatabaseKind } from "../../packages/core/src/rds/types.ts";
import {
  DR_KEY_SAME_ACCOUNT,
  DR_REGION,
  FakeAws,
  FakeKms,
  PRIMARY_CMK,
  PRIMARY_REGION,
} from "../../packages/sim/src/rds/fake-rds.ts";
import { type MotoServer, useMoto } from "../fixtures/moto.ts";
import { MOTO_RDS_GAPS } from "./moto-gaps.ts";

const DAY_MS = 86_400_000;
const WINDOWS = [
  "2026-11-23T03:00:00Z",
  "2026-11-24T03:00:00Z",
  "2026-11-25T03:00:00Z",
  "2026-11-26T03:00:00Z",
];

/** A snapshot as both worlds are compared: keys and accounts by role, not by their random ids. */
interface Seen {
  identifier: string;
  status: string;
  key: "primary key" | "DR key" | "other";
  tags: Record<string, string>;
  source?: string | undefined;
}

interface World {
  deps: RdsJobDeps;
  /** Moves every snapshot still being created or copied to `available` (what RDS does in minutes). */
  settle(): Promise<void>;
  keys: { primary: string; dr: string };
}

const byRole = (keys: World["keys"], kmsKeyId: string | undefined): Seen["key"] =>
  kmsKeyId === keys.primary ? "primary key" : kmsKeyId === keys.dr ? "DR key" : "other";
const neutral = (text: string) => text.replace(/:\d{12}:/g, ":<account>:");
const tagMap = (tags: Tag[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? "", neutral(t.Value ?? "")]));

async function motoWorld(moto: MotoServer, kind: DatabaseKind, clock: () => Date): Promise<World> {
  await moto.reset();
  const kmsPrimary = new KMSClient(moto.clientConfig(PRIMARY_REGION));
  const kmsDr = new KMSClient(moto.clientConfig(DR_REGION));
  const primaryKey = (await kmsPrimary.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  const drKey = (await kmsDr.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  const rdsPrimary = new RDSClient(moto.clientConfig(PRIMARY_REGION));
  const rdsDr = new RDSClient(moto.clientConfig(DR_REGION));
  if (kind === "instance") {
    await rdsPrimary.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: "gitpod",
        Engine: "mysql",
        DBInstanceClass: "db.t3.micro",
        AllocatedStorage: 20,
        MasterUsername: "admin",
        MasterUserPassword: "not-a-secret-1",
        StorageEncrypted: true,
        KmsKeyId: primaryKey,
      }),
    );
  } else {
    await rdsPrimary.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: "gitpod",
        Engine: "aurora-mysql",
        MasterUsername: "admin",
        MasterUserPassword: "not-a-secret-1",
        StorageEncrypted: true,
        KmsKeyId: primaryKey,
      }),
    );
  }
  const keys = { primary: primaryKey, dr: drKey };
  return { keys, deps: { rdsPrimary, rdsDr, kmsPrimary, now: clock }, settle: async () => {} };
}

function fakeWorld(kind: DatabaseKind, clock: () => Date): World {
  const aws = new FakeAws(clock);
  const primary = aws.region(PRIMARY_REGION);
  const dr = aws.region(DR_REGION);
  const kms = new FakeKms({ [PRIMARY_CMK]: "CUSTOMER" });
  primary.databases.push({ kind, identifier: "gitpod", encrypted: true, kmsKeyId: PRIMARY_CMK });
  const keys = { primary: PRIMARY_CMK, dr: DR_KEY_SAME_ACCOUNT };
  return {
    keys,
    deps: { rdsPrimary: primary.client, rdsDr: dr.client, kmsPrimary: kms.client, now: clock },
    async settle() {
      for (const region of [primary, dr]) {
        for (const s of region.snapshots[kind]) if (s.status !== "failed") s.status = "available";
      }
    },
  };
}

/** A region's manual snapshots of one family, read through the RDS API (the same code for both worlds). */
async function view(world: World, region: "primary" | "dr", kind: DatabaseKind): Promise<Seen[]> {
  return (await described(world, region, kind))
    .map((s) => ({
      identifier: s.identifier,
      status: s.status,
      key: byRole(world.keys, s.kmsKeyId),
      tags: tagMap(s.tags),
      source: s.source === undefined ? undefined : neutral(s.source),
    }))
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
}

interface Described {
  identifier: string;
  status: string;
  kmsKeyId?: string | undefined;
  tags?: Tag[] | undefined;
  source?: string | undefined;
  created?: Date | undefined;
  original?: Date | undefined;
}

async function described(world: World, region: "primary" | "dr", kind: DatabaseKind): Promise<Described[]> {
  const client = region === "primary" ? world.deps.rdsPrimary : world.deps.rdsDr;
  if (kind === "instance") {
    const page = await client.send(new DescribeDBSnapshotsCommand({ SnapshotType: "manual" }));
    return (page.DBSnapshots ?? []).map((s) => ({
      identifier: s.DBSnapshotIdentifier ?? "",
      status: s.Status ?? "",
      kmsKeyId: s.KmsKeyId,
      tags: s.TagList,
      source: s.SourceDBSnapshotIdentifier,
      created: s.SnapshotCreateTime,
      original: s.OriginalSnapshotCreateTime,
    }));
  }
  const page = await client.send(new DescribeDBClusterSnapshotsCommand({ SnapshotType: "manual" }));
  return (page.DBClusterSnapshots ?? []).map((s) => ({
    identifier: s.DBClusterSnapshotIdentifier ?? "",
    status: s.Status ?? "",
    kmsKeyId: s.KmsKeyId,
    tags: s.TagList,
    source: s.SourceDBClusterSnapshotArn,
    created: s.SnapshotCreateTime,
  }));
}

function config(drKmsKeyArn: string): RdsJobConfig {
  return {
    stage: "conformance",
    database: { identifier: "gitpod", kind: "auto" },
    regions: { primary: PRIMARY_REGION, dr: DR_REGION },
    drKmsKeyArn,
    retention: { keepLast: 2, maxAgeDays: 7 },
    drRetention: { keepLast: 2, maxAgeDays: 7 },
    manualSnapshotQuota: 100,
    maxConcurrentCopies: 5,
  };
}

/** What a run did, as both worlds are compared. */
const did = (s: RdsJobSummary) => ({
  created: s.created,
  alreadyExisted: s.alreadyExisted,
  copied: s.copied,
  deletedPrimary: s.deleted.primary.map((d) => d.identifier),
  deletedDr: s.deleted.dr.map((d) => d.identifier),
  problems: s.problems,
});

/**
 * The scenario: four daily windows, each run followed by RDS finishing what it started; a second run
 * of the last window (a retried invocation); retention runs on a clock ten days later, so every
 * snapshot is past maxAgeDays and only keepLast survive in each region.
 */
async function scenario(world: World, clock: { offset: number }) {
  const runs = [];
  for (const window of [...WINDOWS, WINDOWS[WINDOWS.length - 1] as string]) {
    runs.push(
      did(
        await runRdsSnapshotJob({ time: new Date(window), dryRun: false }, config(world.keys.dr), world.deps),
      ),
    );
    await world.settle();
  }
  clock.offset = 10 * DAY_MS;
  runs.push(
    did(
      await runRdsSnapshotJob(
        { time: new Date("2026-11-27T03:00:00Z"), dryRun: false },
        config(world.keys.dr),
        world.deps,
      ),
    ),
  );
  await world.settle();
  return runs;
}

const moto = useMoto();

describe.each(["instance", "cluster"] as const)("the RDS job on a DB %s: moto and the fake agree", (kind) => {
  it("creates, copies, adopts a retried window and expires to keepLast in both regions", async () => {
    const motoClock = { offset: 0 };
    const fakeClock = { offset: 0 };
    // The job ages snapshots by their recovery time (the window tag), so both clocks start at the last
    // window, whatever time moto stamps its snapshots with.
    const fakeStart = new Date(WINDOWS[3] as string).getTime();
    const onMoto = await motoWorld(moto, kind, () => new Date(fakeStart + motoClock.offset));
    // Like RDS, the fake stamps each snapshot with the time it is made: a minute apart here.
    let tick = 0;
    const onFake = fakeWorld(kind, () => new Date(fakeStart + fakeClock.offset + 60_000 * tick++));

    const motoRuns = await scenario(onMoto, motoClock);
    const fakeRuns = await scenario(onFake, fakeClock);

    // The end state on moto is what the job promises.
    const primary = await view(onMoto, "primary", kind);
    const dr = await view(onMoto, "dr", kind);
    // keepLast counts available snapshots: the one this run created is kept beside them.
    expect(primary.map((s) => s.identifier)).toEqual([
      "gitpod-dr-gitpod-2026-11-25-0300",
      "gitpod-dr-gitpod-2026-11-26-0300",
      "gitpod-dr-gitpod-2026-11-27-0300",
    ]);
    expect(dr.map((s) => s.identifier)).toEqual([
      "gitpod-dr-gitpod-2026-11-25-0300",
      "gitpod-dr-gitpod-2026-11-26-0300",
    ]);
    expect(dr.every((s) => s.key === "DR key" && s.status === "available")).toBe(true);
    expect(dr[0]?.tags["gitpod-dr:source-snapshot"]).toMatch(/:gitpod-dr-gitpod-2026-11-25-0300$/);

    // And the fake reaches the same state by the same calls, but for the gaps moto-gaps.ts lists.
    const gapFields = MOTO_RDS_GAPS.filter((g) => g.kinds?.includes(kind)).map((g) => g.field);
    const withoutGaps = (seen: Seen[]) =>
      seen.map((s) => Object.fromEntries(Object.entries(s).filter(([field]) => !gapFields.includes(field))));
    expect(withoutGaps(await view(onFake, "primary", kind))).toEqual(withoutGaps(primary));
    expect(withoutGaps(await view(onFake, "dr", kind))).toEqual(withoutGaps(dr));
    expect(fakeRuns).toEqual(motoRuns);
    // Each listed gap is still a gap (moto leaves the field out where the fake, like AWS, sets it).
    // The copy times: every DR copy is stamped when it was copied (RDS API Reference: a copy's
    // SnapshotCreateTime is the copy's; an instance copy keeps the original in OriginalSnapshotCreateTime,
    // a cluster copy keeps none), in both worlds.
    for (const world of [onMoto, onFake]) {
      const sources = new Map((await described(world, "primary", kind)).map((s) => [s.identifier, s]));
      for (const copy of await described(world, "dr", kind)) {
        const source = sources.get(copy.identifier);
        expect(copy.created?.getTime()).toBeGreaterThan(
          source?.created?.getTime() ?? Number.POSITIVE_INFINITY,
        );
        if (kind === "instance") expect(copy.original).toEqual(source?.created);
        else expect(copy.original).toBeUndefined();
      }
    }
    for (const field of gapFields) {
      expect(dr.every((s) => s[field as keyof Seen] === undefined)).toBe(true);
      expect((await view(onFake, "dr", kind)).every((s) => s[field as keyof Seen] !== undefined)).toBe(true);
    }
  }, 60_000);
});
