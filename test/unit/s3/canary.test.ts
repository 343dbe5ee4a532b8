import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CanaryObservation,
  canaryKey,
  canaryTime,
  judgeCanaries,
} from "../../../packages/core/src/s3/canary.ts";
import {
  CANARY_PREFIX,
  DESTINATION,
  minutesAfter,
  SOURCE,
  T0,
} from "../../../packages/sim/src/s3/fake-s3.ts";

const OPTIONS = { now: T0, stalledAfterMinutes: 60, keepMinutes: 1440, compareEtag: true };
const ETAG = '"0cc175b9c0f1b6a831c399e269772661"';

/** A canary written `minutes` before T0, as the source (and maybe the destination) HEAD saw it. */
function canary(
  minutes: number,
  status: string | undefined,
  replica?: { etag?: string; size?: number },
  nonce = "ab12cd",
): CanaryObservation {
  const writtenAt = minutesAfter(T0, -minutes);
  return {
    key: canaryKey(CANARY_PREFIX, writtenAt, nonce),
    writtenAt,
    status,
    etag: ETAG,
    size: 120,
    ...(replica ? { replica } : {}),
  };
}
const intact = { etag: ETAG, size: 120 };

describe("canaryKey and canaryTime", () => {
  it("writes the time to the second into the key, and reads it back", () => {
    const written = new Date("2026-11-26T03:00:00.789Z");

    const key = canaryKey(CANARY_PREFIX, written, "ab12cd");

    expect(key).toBe(".gitpod-dr/canary/2026-11-26T03-00-00Z-ab12cd");
    expect(canaryTime(CANARY_PREFIX, key)).toEqual(new Date("2026-11-26T03:00:00Z"));
  });

  it.each([
    ["another prefix", "other/2026-11-26T03-00-00Z-ab12cd"],
    ["no nonce", ".gitpod-dr/canary/2026-11-26T03-00-00Z"],
    ["an upper-case nonce", ".gitpod-dr/canary/2026-11-26T03-00-00Z-AB12CD"],
    ["a colon time", ".gitpod-dr/canary/2026-11-26T03:00:00Z-ab12cd"],
    ["an impossible month", ".gitpod-dr/canary/2026-13-26T03-00-00Z-ab12cd"],
    ["an impossible hour", ".gitpod-dr/canary/2026-11-26T25-00-00Z-ab12cd"],
    ["a key below the canary", ".gitpod-dr/canary/sub/2026-11-26T03-00-00Z-ab12cd"],
    ["something else", ".gitpod-dr/canary/README"],
  ])("reads no time from %s", (_, key) => {
    expect(canaryTime(CANARY_PREFIX, key)).toBeUndefined();
  });

  it("round-trips every date of years 1970-9999, to the second, and keys sort as their times do", () => {
    const date = fc.date({
      min: new Date("1970-01-01T00:00:00Z"),
      max: new Date("9999-12-31T23:59:59Z"),
      noInvalidDate: true,
    });
    const nonce = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 1, maxLength: 8 });
    const prefix = fc.constantFrom(CANARY_PREFIX, "a/", "gitpod/.canary-x/");

    fc.assert(
      fc.property(prefix, date, date, nonce, (p, a, b, n) => {
        const keyA = canaryKey(p, a, n);
        const keyB = canaryKey(p, b, n);
        const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

        expect(canaryTime(p, keyA)?.getTime()).toBe(seconds(a));
        // ListObjectsV2 answers in key order: the oldest canary comes first.
        if (seconds(a) < seconds(b)) expect(keyA < keyB).toBe(true);
      }),
    );
  });
});

describe("judgeCanaries", () => {
  it("counts a canary still pending within the threshold, without a finding (exactly 60 minutes is still in)", () => {
    const verdict = judgeCanaries(
      SOURCE,
      DESTINATION,
      [canary(10, "PENDING"), canary(60, undefined)],
      OPTIONS,
    );

    expect(verdict).toEqual({ findings: [], cleanup: [], pending: 2 });
  });

  it("accepts arrived canaries, reports the newest, and cleans up only those past keepMinutes", () => {
    const old = canary(1441, "COMPLETED", intact);
    const atLimit = canary(1440, "COMPLETED", intact);
    const newest = canary(70, "COMPLETED", intact);
    const fresh = canary(5, "PENDING");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [newest, fresh, old, atLimit], OPTIONS);

    expect(verdict).toEqual({
      findings: [],
      lastReplicatedAt: newest.writtenAt,
      cleanup: [old.key],
      pending: 1,
    });
  });

  it("keeps the newest arrived canary however old, so the time since the last good replication stays known", () => {
    const lastGood = canary(3000, "COMPLETED", intact, "aaaaaa");
    const olderGood = canary(3100, "COMPLETED", intact, "bbbbbb");
    const stalled = canary(2000, "PENDING", undefined, "cccccc");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [lastGood, olderGood, stalled], OPTIONS);

    expect(verdict.lastReplicatedAt).toEqual(lastGood.writtenAt);
    expect(verdict.cleanup).toEqual([olderGood.key]);
    expect(verdict.findings.map((f) => f.severity)).toEqual(["failure"]);
  });

  it("fails a canary pending past the threshold: replication is stalled", () => {
    const stalled = canary(61, "PENDING");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [stalled], OPTIONS);

    expect(verdict).toEqual({
      findings: [
        {
          bucket: SOURCE,
          severity: "failure",
          check: "canary",
          message: `Bucket ${SOURCE}: replication is stalled: canary ${stalled.key} written at 2026-11-26T01:59:00.000Z has not arrived in ${DESTINATION} after 61 minutes (threshold 60)`,
        },
      ],
      cleanup: [],
      pending: 0,
    });
  });

  it("fails a FAILED canary at once, however young", () => {
    const failed = canary(1, "FAILED");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [failed], OPTIONS);

    expect(verdict.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "canary",
        code: "replication-failed",
        message: `Bucket ${SOURCE}: replication FAILED for canary ${failed.key} (written 2026-11-26T02:59:00.000Z): check the replication role's permissions on ${DESTINATION} and its KMS keys`,
      },
    ]);
    expect(verdict.cleanup).toEqual([]);
  });

  it("fails a canary COMPLETED at the source but missing from the destination", () => {
    const lost = canary(20, "COMPLETED");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [lost], OPTIONS);

    expect(verdict).toEqual({
      findings: [
        {
          bucket: SOURCE,
          severity: "failure",
          check: "canary",
          message: `Bucket ${SOURCE}: canary ${lost.key} is COMPLETED at the source but missing from ${DESTINATION}: check the destination bucket and its lifecycle rules`,
        },
      ],
      cleanup: [],
      pending: 0,
    });
  });

  it("fails a replica whose size or ETag differs, naming both values", () => {
    const shorter = canary(20, "COMPLETED", { etag: ETAG, size: 100 });
    const otherEtag = canary(30, "COMPLETED", { etag: '"ffff"', size: 120 }, "ef34ab");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [shorter, otherEtag], OPTIONS);

    expect(verdict.findings.map((f) => f.message)).toEqual([
      `Bucket ${SOURCE}: canary ${otherEtag.key} arrived in ${DESTINATION} different from the source (size 120 vs 120, ETag "ffff" vs ${ETAG})`,
      `Bucket ${SOURCE}: canary ${shorter.key} arrived in ${DESTINATION} different from the source (size 100 vs 120, ETag ${ETAG} vs ${ETAG})`,
    ]);
    expect(verdict.findings.every((f) => f.severity === "failure" && f.check === "canary")).toBe(true);
    expect(verdict.lastReplicatedAt).toBeUndefined();
  });

  it("ignores the ETag when told to (an SSE-KMS replica has its own), but not the size", () => {
    const otherEtag = canary(30, "COMPLETED", { etag: '"ffff"', size: 120 });
    const shorter = canary(20, "COMPLETED", { etag: '"eeee"', size: 100 }, "ef34ab");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [otherEtag, shorter], {
      ...OPTIONS,
      compareEtag: false,
    });

    expect(verdict.lastReplicatedAt).toEqual(otherEtag.writtenAt);
    expect(verdict.findings.map((f) => f.message)).toEqual([
      `Bucket ${SOURCE}: canary ${shorter.key} arrived in ${DESTINATION} different from the source (size 100 vs 120)`,
    ]);
  });

  it("fails a canary with no replication status past the threshold, saying S3 set none though a rule covers it", () => {
    // Canaries are only written when an enabled rule covers their prefix: "no rule covers it" would be false.
    const unmarked = canary(90, undefined);

    const verdict = judgeCanaries(SOURCE, DESTINATION, [unmarked], { ...OPTIONS, rule: "gitpod-dr-crr" });

    expect(verdict.findings).toEqual([
      {
        bucket: SOURCE,
        severity: "failure",
        check: "canary",
        message: `Bucket ${SOURCE}: canary ${unmarked.key} (written ${unmarked.writtenAt.toISOString()}) has no replication status after 90 minutes (threshold 60): S3 has not marked it for replication, although rule gitpod-dr-crr now covers the canary prefix and replicates to ${DESTINATION}. S3 decides whether an object replicates when it is written, so the rule did not apply to this canary then (added, enabled or changed since, or not yet in effect). Check the rule with \`aws s3api get-bucket-replication --bucket ${SOURCE}\`; once a later canary arrives, this one is removed`,
      },
    ]);
    expect(verdict.findings[0]?.message).not.toContain("no enabled replication rule");
  });

  it("says which rule covers the canary prefix only when it is known", () => {
    const unmarked = canary(90, undefined);

    const [finding] = judgeCanaries(SOURCE, DESTINATION, [unmarked], OPTIONS).findings;

    expect(finding?.message).toContain(
      `S3 has not marked it for replication, although a replication rule now covers the canary prefix and replicates to ${DESTINATION}.`,
    );
  });

  it("only warns about an old stalled or FAILED canary a later one overtook, and removes it", () => {
    const stalled = canary(180, "PENDING", undefined, "aaaaaa");
    const failed = canary(150, "FAILED", undefined, "bbbbbb");
    const arrived = canary(120, "COMPLETED", intact, "cccccc");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [arrived, failed, stalled], OPTIONS);

    expect(verdict).toEqual({
      findings: [
        {
          bucket: SOURCE,
          severity: "warning",
          check: "canary",
          message: `Bucket ${SOURCE}: canary ${stalled.key} never arrived in ${DESTINATION}, but later canaries did; removed`,
        },
        {
          bucket: SOURCE,
          severity: "warning",
          check: "canary",
          message: `Bucket ${SOURCE}: canary ${failed.key} FAILED to replicate, but later canaries arrived; removed`,
        },
      ],
      lastReplicatedAt: arrived.writtenAt,
      cleanup: [stalled.key, failed.key],
      pending: 0,
    });
  });

  it("still fails a stalled canary newer than the last one that arrived", () => {
    const arrived = canary(300, "COMPLETED", intact, "aaaaaa");
    const stalled = canary(120, "PENDING", undefined, "bbbbbb");

    const verdict = judgeCanaries(SOURCE, DESTINATION, [stalled, arrived], OPTIONS);

    expect(verdict.findings.map((f) => [f.severity, f.message.includes("replication is stalled")])).toEqual([
      ["failure", true],
    ]);
    expect(verdict.cleanup).toEqual([]);
    expect(verdict.lastReplicatedAt).toEqual(arrived.writtenAt);
  });

  it("judges no canaries as nothing to say", () => {
    expect(judgeCanaries(SOURCE, DESTINATION, [], OPTIONS)).toEqual({
      findings: [],
      cleanup: [],
      pending: 0,
    });
  });
});
