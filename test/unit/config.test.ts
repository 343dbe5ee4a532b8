import { describe, expect, it } from "vitest";
import { parseStageConfig, type StageConfigInput } from "../../packages/core/src/config.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";
import { scheduleExpressionProblem, schedulePeriodMs } from "../../packages/core/src/schedule.ts";

const KMS_KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** A realistic stage, checked against the real input type. */
const VALID = {
  database: { identifier: "gitpod-db" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: KMS_KEY_ARN },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
  notifications: { emails: ["oncall@example.com"] },
} satisfies StageConfigInput;

/** A stage file being edited: the shape of `VALID`, with room for the mistakes under test. */
interface Draft {
  database: { identifier: string; kind?: string };
  regions: { primary: string; dr: string };
  dr: { kmsKeyArn: string };
  retention: { keepLast: number; maxAgeDays: number; [unknownKey: string]: unknown };
  drRetention?: { keepLast: number; maxAgeDays: number };
  rds?: { manualSnapshotQuota?: number; maxConcurrentCopies?: number };
  schedules: { rdsSnapshot: string };
  notifications: { emails: string[]; httpsEndpoints?: string[] };
  [unknownKey: string]: unknown;
}

/** A fresh copy of `VALID`, so that a test may change it freely. */
const validConfig = (): Draft => structuredClone(VALID);

/** `validConfig()` with one change applied. */
function withChange(change: (config: Draft) => void): Draft {
  const config = validConfig();
  change(config);
  return config;
}

/** Runs `parseStageConfig` and returns the ConfigError it throws; fails the test if it does not throw one. */
function configError(raw: unknown): ConfigError {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("parseStageConfig accepted an invalid configuration");
}

describe("parseStageConfig", () => {
  it("accepts a realistic stage and fills in the defaults", () => {
    const config = parseStageConfig(validConfig());

    expect(config).toEqual({
      database: { identifier: "gitpod-db", kind: "auto" },
      regions: { primary: "eu-west-1", dr: "eu-central-1" },
      dr: { kmsKeyArn: KMS_KEY_ARN },
      retention: { keepLast: 7, maxAgeDays: 14 },
      rds: { manualSnapshotQuota: 100, maxConcurrentCopies: 5 },
      schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
      notifications: { emails: ["oncall@example.com"], httpsEndpoints: [] },
    });
    expect(config.drRetention).toBeUndefined();
  });

  it("fills in an empty notifications section when it is left out", () => {
    const { notifications: _, ...withoutNotifications } = validConfig();

    const config = parseStageConfig(withoutNotifications);

    expect(config.notifications).toEqual({ emails: [], httpsEndpoints: [] });
  });

  it("keeps explicit optional settings and lowercases the database identifier as RDS does", () => {
    const config = parseStageConfig(
      withChange((c) => {
        c.database = { identifier: "Gitpod-DB", kind: "cluster" };
        c.drRetention = { keepLast: 30, maxAgeDays: 90 };
        c.rds = { manualSnapshotQuota: 200, maxConcurrentCopies: 2 };
        c.notifications.httpsEndpoints = ["https://hooks.example.com/gitpod-dr"];
      }),
    );

    expect(config.database).toEqual({ identifier: "gitpod-db", kind: "cluster" });
    expect(config.drRetention).toEqual({ keepLast: 30, maxAgeDays: 90 });
    expect(config.rds).toEqual({ manualSnapshotQuota: 200, maxConcurrentCopies: 2 });
    expect(config.notifications.httpsEndpoints).toEqual(["https://hooks.example.com/gitpod-dr"]);
  });

  it.each<[string, (c: Draft) => void, string]>([
    [
      "a cron expression with five fields",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 3 * * ?)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 3 * * ?)": a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got 5',
    ],
    [
      "a cron expression with seven fields",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 0 3 * * ? *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 0 3 * * ? *)": a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got 7',
    ],
    [
      "a cron minute out of range",
      (c) => {
        c.schedules.rdsSnapshot = "cron(60 3 * * ? *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(60 3 * * ? *)": cron field minutes: 60 is outside 0-59',
    ],
    [
      "a cron hour out of range",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 24 * * ? *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 24 * * ? *)": cron field hours: 24 is outside 0-23',
    ],
    [
      "a cron with both day-of-month and day-of-week set",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 3 1 * MON *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 3 1 * MON *)": exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)',
    ],
    [
      "a cron with neither day field ?",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 3 * * * *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 3 * * * *)": exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)',
    ],
    [
      "a cron with both day fields ?",
      (c) => {
        c.schedules.rdsSnapshot = "cron(0 3 ? * ? *)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "cron(0 3 ? * ? *)": exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)',
    ],
    [
      "rate(0 minutes)",
      (c) => {
        c.schedules.rdsSnapshot = "rate(0 minutes)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "rate(0 minutes)": a rate must be at least 1',
    ],
    [
      "rate(1 hours)",
      (c) => {
        c.schedules.rdsSnapshot = "rate(1 hours)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "rate(1 hours)": use the singular unit for 1: rate(1 hour)',
    ],
    [
      "rate(5 minute)",
      (c) => {
        c.schedules.rdsSnapshot = "rate(5 minute)";
      },
      'schedules.rdsSnapshot: invalid schedule expression "rate(5 minute)": use the plural unit for 5: rate(5 minutes)',
    ],
    [
      "a negative keepLast",
      (c) => {
        c.retention.keepLast = -1;
      },
      "retention.keepLast: must be at least 1",
    ],
    [
      "a keepLast of 0",
      (c) => {
        c.retention.keepLast = 0;
      },
      "retention.keepLast: must be at least 1",
    ],
    [
      "a non-integer keepLast",
      (c) => {
        c.retention.keepLast = 2.5;
      },
      "retention.keepLast: must be a whole number",
    ],
    [
      "a maxAgeDays of 0",
      (c) => {
        c.retention.maxAgeDays = 0;
      },
      "retention.maxAgeDays: must be greater than 0",
    ],
    [
      "a drRetention maxAgeDays of 0",
      (c) => {
        c.drRetention = { keepLast: 7, maxAgeDays: 0 };
      },
      "drRetention.maxAgeDays: must be greater than 0",
    ],
    [
      "a DR region equal to the primary",
      (c) => {
        c.regions.dr = "eu-west-1";
        c.dr.kmsKeyArn = KMS_KEY_ARN.replace("eu-central-1", "eu-west-1");
      },
      "regions.dr: must differ from regions.primary (eu-west-1): a copy in the same region does not survive losing it",
    ],
    [
      "a region that is not an AWS region name",
      (c) => {
        c.regions.primary = "Ireland";
      },
      'regions.primary: must be an AWS region name such as eu-west-1, not "Ireland"',
    ],
    [
      "a misspelled region (well-formed, but not a region the SDK knows and not a compass direction)",
      (c) => {
        c.regions.primary = "eu-wset-1";
      },
      'regions.primary: must be an AWS region name: "eu-wset-1" is not one (did you mean eu-west-1?)',
    ],
    [
      "a KMS key that is not an ARN",
      (c) => {
        c.dr.kmsKeyArn = "1234abcd-12ab-34cd-56ef-1234567890ab";
      },
      "dr.kmsKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    ],
    [
      "a KMS key ARN in another region",
      (c) => {
        c.dr.kmsKeyArn = KMS_KEY_ARN.replace("eu-central-1", "us-east-1");
      },
      "dr.kmsKeyArn: must be a key in the DR region eu-central-1, but it is in us-east-1",
    ],
    [
      "a KMS alias ARN",
      (c) => {
        c.dr.kmsKeyArn = "arn:aws:kms:eu-central-1:123456789012:alias/gitpod-dr";
      },
      "dr.kmsKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    ],
    [
      "an unknown top-level field",
      (c) => {
        c.retentoin = { keepLast: 7 };
      },
      '(root): Unrecognized key: "retentoin"',
    ],
    [
      "an unknown nested field",
      (c) => {
        c.retention.keepFirst = 3;
      },
      'retention: Unrecognized key: "keepFirst"',
    ],
    [
      "a bad email address",
      (c) => {
        c.notifications.emails = ["oncall@example.com", "oncall-at-example.com"];
      },
      "notifications.emails.1: must be an email address",
    ],
    [
      "an http:// endpoint",
      (c) => {
        c.notifications.httpsEndpoints = ["http://hooks.example.com/gitpod-dr"];
      },
      "notifications.httpsEndpoints.0: must be an https:// URL",
    ],
    [
      "a database identifier starting with a digit",
      (c) => {
        c.database.identifier = "1db";
      },
      "database.identifier: must start with a letter and contain only letters, digits and single hyphens",
    ],
    [
      "a database identifier with a double hyphen",
      (c) => {
        c.database.identifier = "a--b";
      },
      "database.identifier: must start with a letter and contain only letters, digits and single hyphens",
    ],
    [
      "a database identifier ending in a hyphen",
      (c) => {
        c.database.identifier = "db-";
      },
      "database.identifier: must not end with a hyphen",
    ],
    [
      "more concurrent copies than RDS allows",
      (c) => {
        c.rds = { maxConcurrentCopies: 6 };
      },
      "rds.maxConcurrentCopies: RDS allows at most 5 concurrent copies",
    ],
  ])("rejects %s, naming the field and the reason", (_, change, issue) => {
    const error = configError(withChange(change));

    expect(error.name).toBe("ConfigError");
    expect(error.code).toBe("ConfigError");
    expect(error.retryable).toBe(false);
    expect(error.issues).toEqual([issue]);
    expect(error.message).toBe(`Invalid stage configuration:\n  ${issue}`);
  });

  it("rejects a missing required section", () => {
    const { retention: _, ...withoutRetention } = validConfig();

    const error = configError(withoutRetention);

    expect(error.name).toBe("ConfigError");
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(/^retention: /);
  });

  it("reports every invalid field at once", () => {
    const error = configError(
      withChange((c) => {
        c.retention.keepLast = 0;
        c.schedules.rdsSnapshot = "rate(5 minute)";
        c.notifications.emails = ["nobody"];
      }),
    );

    expect(error.name).toBe("ConfigError");
    expect([...error.issues].sort()).toEqual([
      "notifications.emails.0: must be an email address",
      "retention.keepLast: must be at least 1",
      'schedules.rdsSnapshot: invalid schedule expression "rate(5 minute)": use the plural unit for 5: rate(5 minutes)',
    ]);
  });

  it("reports both cross-field problems when the DR region equals the primary and the key is elsewhere", () => {
    const error = configError(withChange((c) => (c.regions.dr = "eu-west-1")));

    expect(error.issues).toEqual([
      "regions.dr: must differ from regions.primary (eu-west-1): a copy in the same region does not survive losing it",
      "dr.kmsKeyArn: must be a key in the DR region eu-west-1, but it is in eu-central-1",
    ]);
  });

  it("names the source in the message", () => {
    let caught: unknown;
    try {
      parseStageConfig(
        withChange((c) => (c.retention.maxAgeDays = -1)),
        "config/prod.ts",
      );
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toBe(
      "Invalid config/prod.ts:\n  retention.maxAgeDays: must be greater than 0",
    );
  });
});

describe("scheduleExpressionProblem", () => {
  it.each([
    "rate(1 day)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(12 hours)",
    "cron(0 3 * * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0 3 ? * MON-FRI *)",
    "cron(0 3 L * ? *)",
    "cron(0 3 ? * 6#3 *)",
    "cron(0 3 1W * ? *)",
    "cron(0 3 15W * ? *)",
    "cron(0 3 31W * ? *)",
    "cron(0 3 LW * ? *)",
    "cron(0 3 ? * L *)",
    "cron(0 3 ? * 6L *)",
    "cron(0 3 ? * 1#1 *)",
    "cron(0 3 ? * 7#5 *)",
    "cron(0,30 8-18 ? JAN-MAR mon,wed 2026-2030)",
  ])("accepts %s", (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });

  it.each([
    [
      "cron(0 3 * * ?)",
      "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got 5",
    ],
    ["cron(60 3 * * ? *)", "cron field minutes: 60 is outside 0-59"],
    ["cron(0 3 32 * ? *)", "cron field day-of-month: 32 is outside 1-31"],
    ["cron(0 3 ? 13 MON *)", "cron field month: 13 is outside 1-12"],
    ["cron(0 3 ? * 8 *)", "cron field day-of-week: 8 is outside 1-7"],
    ["cron(0 3 ? * FUNDAY *)", 'cron field day-of-week: "FUNDAY" is not a number or a name'],
    // The W, # and L forms must hold their day number to the field's range too.
    ["cron(0 3 0W * ? *)", 'cron field day-of-month: "0W" is not a number'],
    ["cron(0 3 32W * ? *)", 'cron field day-of-month: "32W" is not a number'],
    ["cron(0 3 99W * ? *)", 'cron field day-of-month: "99W" is not a number'],
    ["cron(0 3 ? * 0#1 *)", 'cron field day-of-week: "0#1" is not a number or a name'],
    ["cron(0 3 ? * 9#3 *)", 'cron field day-of-week: "9#3" is not a number or a name'],
    ["cron(0 3 ? * 6#6 *)", 'cron field day-of-week: "6#6" is not a number or a name'],
    ["cron(0 3 ? * 8L *)", 'cron field day-of-week: "8L" is not a number or a name'],
    ["cron(0/0 3 * * ? *)", 'cron field minutes: step "0" must be a positive number'],
    ["cron(0 3 * * ? 1969)", "cron field year: 1969 is outside 1970-2199"],
    [
      "cron(0 3 1 * MON *)",
      "exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)",
    ],
    [
      "cron(0 3 * * * *)",
      "exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)",
    ],
    ["rate(0 minutes)", "a rate must be at least 1"],
    ["rate(1 hours)", "use the singular unit for 1: rate(1 hour)"],
    ["rate(5 minute)", "use the plural unit for 5: rate(5 minutes)"],
    ["rate(5 weeks)", 'a rate expression is "rate(<number> <minute|minutes|hour|hours|day|days>)"'],
    ["rate(-5 minutes)", 'a rate expression is "rate(<number> <minute|minutes|hour|hours|day|days>)"'],
    ["0 3 * * ? *", 'expected "rate(...)" or "cron(...)"'],
    ["", 'expected "rate(...)" or "cron(...)"'],
  ])("rejects %s with the reason", (expression, problem) => {
    expect(scheduleExpressionProblem(expression)).toBe(problem);
  });
});

describe("schedulePeriodMs", () => {
  it.each([
    ["rate(1 minute)", 60_000],
    ["rate(15 minutes)", 15 * 60_000],
    ["rate(1 hour)", 3_600_000],
    ["rate(6 hours)", 6 * 3_600_000],
    ["rate(1 day)", 86_400_000],
    ["rate(2 days)", 2 * 86_400_000],
    // A cron schedule is taken to run at least hourly.
    ["cron(0 3 * * ? *)", 3_600_000],
  ])("of %s is %i ms", (expression, ms) => {
    expect(schedulePeriodMs(expression)).toBe(ms);
  });
});
