import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judgeMetrics, type MetricThresholds } from "../../../packages/core/src/s3/metrics.ts";
import { countStatuses, judgeSample, sample } from "../../../packages/core/src/s3/sampling.ts";
import { SOURCE, seededRandom } from "../../../packages/sim/src/s3/fake-s3.ts";

const RULE = "gitpod-dr-crr";
const LIMITS: MetricThresholds = {
  latencySeconds: 900,
  operationsPending: 10_000,
  bytesPending: 10 * 1024 ** 3,
  operationsFailed: 0,
};

describe("judgeMetrics", () => {
  it("finds nothing when every metric is at or under its threshold, or missing", () => {
    expect(
      judgeMetrics(
        SOURCE,
        RULE,
        { latencySeconds: 900, operationsPending: 10_000, bytesPending: 10 * 1024 ** 3, operationsFailed: 0 },
        LIMITS,
      ),
    ).toEqual([]);
    expect(judgeMetrics(SOURCE, RULE, {}, LIMITS)).toEqual([]);
  });

  it("fails failed replication operations over the threshold", () => {
    const findings = judgeMetrics(SOURCE, RULE, { operationsFailed: 3 }, LIMITS);

    expect(findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: 3 replication operations failed in the last 30 minutes (threshold 0). Check the replication role and KMS keys`,
      },
    ]);
  });

  it("warns about latency, pending operations and pending bytes over their thresholds", () => {
    const findings = judgeMetrics(
      SOURCE,
      RULE,
      {
        latencySeconds: 901,
        operationsPending: 10_001,
        bytesPending: 10 * 1024 ** 3 + 1,
        operationsFailed: 0,
      },
      LIMITS,
    );

    expect(findings).toEqual([
      {
        bucket: SOURCE,
        severity: "warning",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: replication latency reached 901 s (threshold 900 s)`,
      },
      {
        bucket: SOURCE,
        severity: "warning",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: 10001 operations pending replication (threshold 10000)`,
      },
      {
        bucket: SOURCE,
        severity: "warning",
        check: "metric-threshold",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: 10737418241 bytes pending replication (threshold 10737418240)`,
      },
    ]);
  });

  it("allows some failed operations when the threshold says so", () => {
    expect(judgeMetrics(SOURCE, RULE, { operationsFailed: 5 }, { ...LIMITS, operationsFailed: 5 })).toEqual(
      [],
    );
    expect(
      judgeMetrics(SOURCE, RULE, { operationsFailed: 6 }, { ...LIMITS, operationsFailed: 5 }).map(
        (f) => f.severity,
      ),
    ).toEqual(["failure"]);
  });
});

describe("sample", () => {
  const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);

  it("picks distinct items, at most the size asked for, and no more than there are", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string(), { maxLength: 60 }),
        fc.nat({ max: 80 }),
        fc.integer(),
        (items, size, seed) => {
          const picked = sample(items, size, seededRandom(seed));

          expect(picked).toHaveLength(Math.min(size, items.length));
          expect(new Set(picked).size).toBe(picked.length);
          for (const p of picked) expect(items).toContain(p);
        },
      ),
    );
  });

  it("is deterministic with an injected random source, and leaves its input alone", () => {
    const before = [...keys];

    const a = sample(keys, 10, seededRandom(42));
    const b = sample(keys, 10, seededRandom(42));
    const c = sample(keys, 10, seededRandom(43));

    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(keys).toEqual(before);
  });

  it("takes the first items in order when the random source always says 0", () => {
    expect(sample(keys, 3, () => 0)).toEqual(["k0", "k1", "k2"]);
    expect(sample(keys, 0, () => 0)).toEqual([]);
    expect(sample([], 5, () => 0)).toEqual([]);
  });

  it("takes from the end when the random source is just under 1", () => {
    expect(sample(keys, 2, () => 0.999_999)).toEqual(["k49", "k0"]);
  });
});

describe("countStatuses", () => {
  it("counts each ReplicationStatus, and objects without one as NONE", () => {
    expect(countStatuses([undefined, "COMPLETED", "COMPLETED", "FAILED", undefined, "PENDING"])).toEqual({
      NONE: 2,
      COMPLETED: 2,
      FAILED: 1,
      PENDING: 1,
    });
    expect(countStatuses([])).toEqual({});
  });
});

describe("judgeSample", () => {
  it("fails FAILED objects and warns about objects without a status, naming the repair setting", () => {
    const findings = judgeSample(SOURCE, { COMPLETED: 15, FAILED: 2, NONE: 3 }, 20);

    expect(findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "sampling",
        message: `Bucket ${SOURCE}: 2 of 20 sampled objects FAILED to replicate. Fix the cause (replication role, KMS keys) and re-replicate them (storage.repair)`,
      },
      {
        bucket: SOURCE,
        severity: "warning",
        check: "sampling",
        message: `Bucket ${SOURCE}: 3 of 20 sampled objects have no replication status: they predate the replication rule or fall outside it. Turn on storage.repair to re-replicate them with S3 Batch Replication`,
      },
    ]);
  });

  it("finds nothing in a sample that is replicated or on its way", () => {
    expect(judgeSample(SOURCE, { COMPLETED: 18, PENDING: 2 }, 20)).toEqual([]);
    expect(judgeSample(SOURCE, {}, 0)).toEqual([]);
  });
});
