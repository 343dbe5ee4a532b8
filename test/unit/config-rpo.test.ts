import { describe, expect, it } from "vitest";
import exampleStage from "../../config/example.ts";
import { rpoTargets } from "../../packages/core/src/config/catalog.ts";
import { parseStageConfig, type StageConfigInput } from "../../packages/core/src/config.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";
import { longestScheduleGapMs } from "../../packages/core/src/schedule.ts";

const HOUR = 3_600_000;
const BASE = {
  database: { identifier: "gitpod-db" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
} satisfies StageConfigInput;

const problem = (raw: unknown) => {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  return [];
};

describe("longest gap between runs of a schedule", () => {
  it.each([
    ["rate(15 minutes)", 0.25 * HOUR],
    ["rate(6 hours)", 6 * HOUR],
    ["cron(0 3 * * ? *)", 24 * HOUR],
    ["cron(0 3,15 * * ? *)", 12 * HOUR],
    ["cron(0 2,4 * * ? *)", 22 * HOUR],
    ["cron(0/30 * * * ? *)", 0.5 * HOUR],
    ["cron(0 3 ? * MON *)", 7 * 24 * HOUR],
    ["cron(0 3 1 * ? *)", 31 * 24 * HOUR],
  ])("%s: %d ms", (schedule, gap) => {
    expect(longestScheduleGapMs(schedule)).toBe(gap);
  });
});

describe("rpo", () => {
  it("defaults each configured tier to what its schedule delivers plus 2 h (the database and application jobs finish a copy at their next run)", () => {
    const config = parseStageConfig(exampleStage);
    expect(rpoTargets(config)).toEqual({
      database: 50 * HOUR,
      objectStorage: 3 * HOUR,
      images: 8 * HOUR,
      application: 50 * HOUR,
    });
    // A daily snapshot is copied to the DR region at the next day's run: its DR copy gets up to 48 h old.
    expect(rpoTargets(parseStageConfig(BASE))).toEqual({ database: 50 * HOUR });
  });

  it("takes durations such as 26h, 90m, 1d2h", () => {
    const config = parseStageConfig({ ...BASE, rpo: { database: "2d2h30m" } });
    expect(rpoTargets(config).database).toBe(50.5 * HOUR);
    expect(rpoTargets(parseStageConfig({ ...BASE, rpo: { database: "50h" } })).database).toBe(50 * HOUR);
  });

  it("rejects a target shorter than the schedule delivers, a bad duration, and a tier not configured, naming the field", () => {
    expect(problem({ ...BASE, rpo: { database: "26h" } })).toEqual([
      "rpo.database: 26h is shorter than its schedule cron(0 3 * * ? *) can deliver (its newest copy gets up to 48h old): use more than 48h, e.g. 50h",
    ]);
    expect(problem({ ...BASE, rpo: { database: "a day" } })).toEqual([
      'rpo.database: must be a duration such as "26h", "90m" or "1d2h", above 0',
    ]);
    expect(problem({ ...BASE, rpo: { images: "8h" } })).toEqual([
      "rpo.images: the images tier is not configured: leave its target out",
    ]);
    expect(problem({ ...BASE, rpo: { databse: "26h" } })[0]).toMatch(/^rpo: Unrecognized key/);
  });
});
