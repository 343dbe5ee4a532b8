/**
 * `gitpod-dr s3-check`: the command against the in-memory S3 world (its clients given through `connect`),
 * asserting exit codes, what it prints, and what the fake buckets hold afterwards; and the usage paths
 * through `main`, which fail before any client is built.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main } from "../../../packages/cli/src/main.ts";
import {
  formatStorageSummary,
  type StorageConnect,
  s3CheckCommand,
} from "../../../packages/cli/src/storage.ts";
import type { StorageCheckSummary } from "../../../packages/core/src/s3/job.ts";
import {
  ACCOUNT,
  CANARY_PREFIX,
  DESTINATION,
  DR,
  FakeS3World,
  PRIMARY,
  SOURCE,
} from "../../../packages/sim/src/s3/fake-s3.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const BASE = {
  database: { identifier: "gitpod-db", kind: "instance" },
  regions: { primary: PRIMARY, dr: DR },
  dr: { kmsKeyArn: `arn:aws:kms:${DR}:${ACCOUNT}:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13` },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
};
const STORAGE = {
  schedule: "rate(1 hour)",
  buckets: [SOURCE],
  destinations: { buckets: [DESTINATION] },
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gitpod-dr-s3-check-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a stage file `<fresh dir>/prod.ts` (a fresh directory each time: the file name is the stage). */
async function stageFile(config: Record<string, unknown>): Promise<string> {
  const file = join(await mkdtemp(join(dir, "stage-")), "prod.ts");
  await writeFile(file, `export default ${JSON.stringify(config, null, 2)};\n`);
  return file;
}

/** A `connect` that hands out the fake world's clients and records the config it was given. */
function connectTo(world: FakeS3World) {
  const seen: unknown[] = [];
  const connect: StorageConnect = async (config) => {
    seen.push(config);
    return { deps: world.deps, account: ACCOUNT };
  };
  return { connect, seen };
}

describe("gitpod-dr s3-check", () => {
  it("prints a table of a healthy first run, exits 0, and leaves a canary on its way to the DR region", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    const { connect, seen } = connectTo(world);
    const run = capture();

    const code = await s3CheckCommand(
      ["--config", await stageFile({ ...BASE, storage: STORAGE })],
      run.io,
      connect,
    );

    expect(code).toBe(EXIT_OK);
    expect(seen).toHaveLength(1);
    const text = run.out.join("\n");
    expect(text).toContain("S3 replication check of stage prod: HEALTHY");
    expect(text).not.toContain("dry run");
    expect(text).toMatch(/BUCKET\s+HEALTH\s+CANARY\s+SAMPLE\s+REPAIR/);
    expect(text).toMatch(new RegExp(`^\\s+${SOURCE}\\s+healthy\\s`, "m"));
    expect(text).not.toContain("Findings:");
    expect(run.err).toEqual([]);
    const canaries = world.objects(SOURCE, CANARY_PREFIX);
    expect(canaries).toEqual([expect.objectContaining({ status: "PENDING" })]);
    expect(world.count("PutObject", SOURCE)).toBe(1);
  });

  it("with --dry-run prints the dry-run marker and writes nothing", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    const run = capture();

    const code = await s3CheckCommand(
      ["--config", await stageFile({ ...BASE, storage: STORAGE }), "--dry-run"],
      run.io,
      connectTo(world).connect,
    );

    expect(code).toBe(EXIT_OK);
    const text = run.out.join("\n");
    expect(text).toContain("[dry run: no canary written, no job started]");
    expect(text).toMatch(new RegExp(`^\\s+${SOURCE}\\s+healthy\\s`, "m"));
    expect(world.objects(SOURCE)).toEqual([]);
    expect(world.count("PutObject")).toBe(0);
    expect(world.count("DeleteObject")).toBe(0);
    expect(world.count("CreateJob")).toBe(0);
    expect(world.published).toEqual([]);
  });

  it("prints FAIL with the check and message for a bucket without replication, still prints the summary, and exits 1", async () => {
    const world = FakeS3World.create();
    world.bucket(SOURCE, { versioning: "Enabled" });
    world.bucket(DESTINATION, { region: DR, versioning: "Enabled" });
    const run = capture();

    const code = await s3CheckCommand(
      ["--config", await stageFile({ ...BASE, storage: STORAGE })],
      run.io,
      connectTo(world).connect,
    );

    expect(code).toBe(EXIT_FAILED);
    const text = run.out.join("\n");
    expect(text).toContain("S3 replication check of stage prod: FAILED");
    expect(text).toMatch(/BUCKET\s+HEALTH\s+CANARY\s+SAMPLE\s+REPAIR/);
    expect(text).toMatch(new RegExp(`^\\s+${SOURCE}\\s+failed\\s`, "m"));
    expect(text).toContain("Findings:");
    expect(text).toMatch(
      new RegExp(
        `^\\s+FAIL\\s+replication-rule\\s+Bucket ${SOURCE} has no replication configuration: nothing in it reaches the DR region`,
        "m",
      ),
    );
    expect(world.objects(SOURCE, CANARY_PREFIX)).toEqual([]);
  });

  it("with --json prints the summary as parseable JSON", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    const run = capture();

    const code = await s3CheckCommand(
      ["--config", await stageFile({ ...BASE, storage: STORAGE }), "--json"],
      run.io,
      connectTo(world).connect,
    );

    expect(code).toBe(EXIT_OK);
    expect(run.out).toHaveLength(1);
    const summary = JSON.parse(run.out[0] as string) as StorageCheckSummary;
    expect(summary).toMatchObject({ stage: "prod", health: "healthy", findings: [], dryRun: false });
    expect(summary.buckets.map((b) => [b.bucket, b.health])).toEqual([[SOURCE, "healthy"]]);
  });

  it("with --json prints the failing summary as JSON too, and exits 1", async () => {
    const world = FakeS3World.create();
    world.bucket(SOURCE, { versioning: "Enabled" });
    world.bucket(DESTINATION, { region: DR, versioning: "Enabled" });
    const run = capture();

    const code = await s3CheckCommand(
      ["--config", await stageFile({ ...BASE, storage: STORAGE }), "--json"],
      run.io,
      connectTo(world).connect,
    );

    expect(code).toBe(EXIT_FAILED);
    const summary = JSON.parse(run.out.join("\n")) as StorageCheckSummary;
    expect(summary.health).toBe("failed");
    expect(summary.findings).toEqual([
      expect.objectContaining({ bucket: SOURCE, severity: "failure", check: "replication-rule" }),
    ]);
  });
});

describe("formatStorageSummary", () => {
  it("lines the columns up and shows canary age, sample counts and repair job", () => {
    const summary: StorageCheckSummary = {
      stage: "prod",
      health: "degraded",
      dryRun: false,
      discoveredBuckets: 1,
      canaryBuckets: 2,
      buckets: [
        {
          bucket: "a-very-long-bucket-name",
          discovered: false,
          health: "healthy",
          findings: [],
          secondsSinceReplicatedCanary: 600,
          sample: { COMPLETED: 19, FAILED: 1 },
          repairJob: { id: "job-1", status: "New", started: true },
        },
        { bucket: "short", discovered: true, health: "degraded", findings: [] },
      ],
      findings: [
        { bucket: "short", severity: "warning", check: "metric-threshold", message: "something is slow" },
      ],
    };

    // The last column is padded too; compare the rows without trailing blanks.
    const lines = formatStorageSummary(summary)
      .split("\n")
      .map((line) => line.trimEnd());

    expect(lines[0]).toBe("S3 replication check of stage prod: DEGRADED");
    expect(lines[1]).toBe("  2 bucket(s), 1 discovered by prefix, 0 canary(ies) written this run");
    const header = lines[3] as string;
    expect(header).toMatch(/^ {2}BUCKET +HEALTH +CANARY +SAMPLE +REPAIR$/);
    expect(lines[4]).toMatch(
      /^ {2}a-very-long-bucket-name {2}healthy +10 min ago {2}COMPLETED:19 FAILED:1 {2}job-1 New$/,
    );
    expect(lines[5]).toMatch(/^ {2}short +degraded +- +- +-$/);
    // Columns line up: each column starts at the same offset in every row.
    expect(lines[5]?.indexOf("degraded")).toBe(header.indexOf("HEALTH"));
    expect(lines[4]?.indexOf("job-1")).toBe(header.indexOf("REPAIR"));
    expect(lines.slice(6)).toEqual([
      "",
      "Findings:",
      `  warn  ${"metric-threshold".padEnd(24)} something is slow`,
    ]);
  });
});

describe("gitpod-dr s3-check usage errors (through main, before connecting)", () => {
  it("exits 2 naming --config when none is given", async () => {
    const run = capture();
    expect(await main(["s3-check"], run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(/s3-check needs --config FILE/);
    expect(run.out).toEqual([]);
  });

  it("exits 2 when the stage file has no storage section", async () => {
    const file = await stageFile(BASE);
    const run = capture();
    expect(await main(["s3-check", "--config", file], run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(/has no "storage" section/);
  });

  it("exits 2 naming an unknown flag", async () => {
    const run = capture();
    expect(await main(["s3-check", "--no-such-flag"], run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(/no-such-flag/);
  });

  it("exits 2 when the stage file does not exist", async () => {
    const run = capture();
    expect(await main(["s3-check", "--config", join(dir, "missing", "prod.ts")], run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(/No stage configuration at/);
  });
});
