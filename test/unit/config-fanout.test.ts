import { describe, expect, it } from "vitest";
import { fanOutRoute } from "../../packages/core/src/config/images.ts";
import { parseStageConfig, type StageConfigInput } from "../../packages/core/src/config.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";

/** images.fanOut: the workflow's threshold between one copy task and the Distributed Map. */

const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const stage = (fanOut: unknown) =>
  ({
    database: { identifier: "gitpod-db" },
    regions: { primary: "eu-west-1", dr: "eu-central-1" },
    dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
    retention: { keepLast: 7, maxAgeDays: 14 },
    schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
    notifications: { emails: ["oncall@example.com"] },
    images: {
      schedule: "rate(1 hour)",
      rules: [
        {
          name: "gitpod",
          source: { registry: ECR },
          repositories: ["gitpod/*"],
          destination: { registry: ECR, repositoryPrefix: "dr/" },
        },
      ],
      fanOut,
    },
  }) as unknown as StageConfigInput;

function issues(fanOut: unknown): string[] {
  try {
    parseStageConfig(stage(fanOut));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("parseStageConfig accepted an invalid configuration");
}

describe("images.fanOut.threshold", () => {
  it("defaults to one copy task for up to 10 images and 5 GB, with or without a threshold section", () => {
    expect(parseStageConfig(stage({})).images?.fanOut).toEqual({
      maxConcurrency: 10,
      imagesPerChild: 10,
      toleratedFailurePercentage: 0,
      threshold: { images: 10, gigabytes: 5 },
    });
    expect(parseStageConfig(stage({ threshold: { images: 0 } })).images?.fanOut?.threshold).toEqual({
      images: 0,
      gigabytes: 5,
    });
  });

  it("refuses a threshold the state cannot carry, or that is not a count, naming the field", () => {
    expect(issues({ threshold: { images: 101 } })).toEqual([
      "images.fanOut.threshold.images: must be at most 100",
    ]);
    expect(issues({ threshold: { gigabytes: 16 } })).toEqual([
      "images.fanOut.threshold.gigabytes: must be at most 15: one copy task has 15 minutes (about 22 GB at the measured 25 MiB/s)",
    ]);
    expect(issues({ threshold: { images: 2.5, gigabytes: -1 } })).toEqual([
      expect.stringMatching(/^images\.fanOut\.threshold\.images: /),
      expect.stringMatching(/^images\.fanOut\.threshold\.gigabytes: /),
    ]);
    expect(issues({ threshold: { image: 5 } })).toEqual([
      expect.stringMatching(/^images\.fanOut\.threshold: .*"image"/),
    ]);
  });
});

describe("fanOutRoute", () => {
  const threshold = { images: 10, gigabytes: 5 };
  it.each([
    [{ items: 0, bytes: 0 }, "none"],
    [{ items: 1, bytes: 0 }, "task"],
    [{ items: 10, bytes: 5e9 }, "task"],
    [{ items: 11, bytes: 0 }, "map"],
    [{ items: 2, bytes: 5e9 + 1 }, "map"],
  ] as const)("%o → %s", (totals, route) => {
    expect(fanOutRoute(totals, threshold)).toBe(route);
  });

  it("a threshold of 0 images always starts the Map when there is anything to copy", () => {
    expect(fanOutRoute({ items: 1, bytes: 0 }, { images: 0, gigabytes: 5 })).toBe("map");
    expect(fanOutRoute({ items: 0, bytes: 0 }, { images: 0, gigabytes: 5 })).toBe("none");
  });
});
