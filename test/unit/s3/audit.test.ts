import type { ReplicationRule } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import {
  type AuditExpectations,
  auditReplication,
  bucketOfArn,
  coveringRules,
  type DestinationFacts,
  destinationsOf,
  rulePrefix,
  type SourceFacts,
} from "../../../packages/core/src/s3/audit.ts";
import {
  DESTINATION,
  DR,
  PRIMARY,
  replicationConfig,
  replicationRule,
  SOURCE,
} from "../../../packages/sim/src/s3/fake-s3.ts";

const RULE = "gitpod-dr-crr";
const REPLICA_KEY = `arn:aws:kms:${DR}:123456789012:key/aaaaaaaa-1111-2222-3333-444444444444`;

const EXPECT: AuditExpectations = {
  prefixes: [],
  drRegion: DR,
  deleteMarkerReplication: "any",
  replicationTimeControl: false,
  replicationMetrics: false,
};

const source = (rules: ReplicationRule[] | undefined, extra: Partial<SourceFacts> = {}): SourceFacts => ({
  bucket: SOURCE,
  versioning: "Enabled",
  replication: rules ? replicationConfig(...rules) : undefined,
  defaultSseKms: false,
  ...extra,
});

const destination = (extra: Partial<DestinationFacts> = {}): DestinationFacts => ({
  bucket: DESTINATION,
  region: DR,
  versioning: "Enabled",
  ...extra,
});

const failure = (check: string, message: string, rule?: string) => ({
  bucket: SOURCE,
  severity: "failure",
  check,
  ...(rule ? { rule } : {}),
  message,
});

describe("bucketOfArn", () => {
  it.each([
    ["arn:aws:s3:::gitpod-workspace-backups-dr", "gitpod-workspace-backups-dr"],
    ["arn:aws-cn:s3:::dr.bucket", "dr.bucket"],
    ["gitpod-workspace-backups-dr", "gitpod-workspace-backups-dr"],
    [undefined, undefined],
    ["", undefined],
  ])("%s → %s", (arn, name) => {
    expect(bucketOfArn(arn)).toBe(name);
  });
});

describe("rulePrefix", () => {
  const rule = (fields: Partial<ReplicationRule>): ReplicationRule => ({
    Status: "Enabled",
    Destination: { Bucket: `arn:aws:s3:::${DESTINATION}` },
    ...fields,
  });

  it.each<[string, ReplicationRule, string | undefined]>([
    ["an empty filter: the whole bucket", rule({ Filter: {} }), ""],
    ["a filter prefix", rule({ Filter: { Prefix: "backups/" } }), "backups/"],
    ["an And prefix without tags", rule({ Filter: { And: { Prefix: "a/" } } }), "a/"],
    ["a tag filter", rule({ Filter: { Tag: { Key: "dr", Value: "yes" } } }), undefined],
    [
      "an And prefix with tags",
      rule({ Filter: { And: { Prefix: "a/", Tags: [{ Key: "dr", Value: "yes" }] } } }),
      undefined,
    ],
    ["a legacy V1 Prefix (no Filter)", rule({ Prefix: "legacy/" }), "legacy/"],
    ["a legacy rule with no prefix at all", rule({}), ""],
  ])("%s", (_, r, prefix) => {
    expect(rulePrefix(r)).toBe(prefix);
  });
});

describe("coveringRules", () => {
  const whole = replicationRule(DESTINATION, { ID: "whole" });
  const onlyA = replicationRule(DESTINATION, { ID: "a", Filter: { Prefix: "a/" } });
  const disabled = replicationRule(DESTINATION, { ID: "off", Status: "Disabled" });
  const tagged = replicationRule(DESTINATION, { ID: "tag", Filter: { Tag: { Key: "k", Value: "v" } } });

  it("keeps the enabled rules whose prefix is a prefix of the wanted one", () => {
    const rules = [whole, onlyA, disabled, tagged];

    expect(coveringRules(rules, "a/x/").map((r) => r.ID)).toEqual(["whole", "a"]);
    expect(coveringRules(rules, "b/").map((r) => r.ID)).toEqual(["whole"]);
    // A rule for a/ does not cover the whole bucket, nor a shorter prefix.
    expect(coveringRules([onlyA], "").map((r) => r.ID)).toEqual([]);
    expect(coveringRules([onlyA, disabled, tagged], "a").map((r) => r.ID)).toEqual([]);
  });
});

describe("destinationsOf", () => {
  it("lists the destinations of the covering rules, once each, sorted", () => {
    const facts = source([
      replicationRule("dr-b", { ID: "b", Filter: { Prefix: "b/" } }),
      replicationRule("dr-a", { ID: "a", Filter: { Prefix: "a/" } }),
      replicationRule("dr-a", { ID: "a2", Filter: { Prefix: "a/2/" } }),
      replicationRule("dr-off", { ID: "off", Status: "Disabled" }),
      replicationRule("dr-c", { ID: "c", Filter: { Prefix: "c/" } }),
    ]);

    expect(destinationsOf(facts, { ...EXPECT, prefixes: ["a/2/", "b/"] })).toEqual(["dr-a", "dr-b"]);
    expect(destinationsOf(facts, EXPECT)).toEqual([]);
    expect(destinationsOf(source(undefined), EXPECT)).toEqual([]);
  });
});

describe("auditReplication", () => {
  it("finds nothing wrong with a versioned bucket replicating everything to a versioned DR bucket", () => {
    const findings = auditReplication(source([replicationRule(DESTINATION)]), [destination()], EXPECT);

    expect(findings).toEqual([]);
  });

  it("finds nothing wrong when every expectation is met, SSE-KMS included", () => {
    const rule = replicationRule(DESTINATION, {
      DeleteMarkerReplication: { Status: "Enabled" },
      SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: "Enabled" } },
      Destination: {
        Bucket: `arn:aws:s3:::${DESTINATION}`,
        EncryptionConfiguration: { ReplicaKmsKeyID: REPLICA_KEY },
        ReplicationTime: { Status: "Enabled", Time: { Minutes: 15 } },
        Metrics: { Status: "Enabled", EventThreshold: { Minutes: 15 } },
      },
    });

    const findings = auditReplication(source([rule], { defaultSseKms: true }), [destination()], {
      ...EXPECT,
      prefixes: ["workspaces/", ".gitpod-dr/"],
      deleteMarkerReplication: "Enabled",
      replicationTimeControl: true,
      replicationMetrics: true,
    });

    expect(findings).toEqual([]);
  });

  it.each([
    [undefined, "never enabled"],
    ["Suspended", "Suspended"],
  ])("fails a source bucket whose versioning is %s", (versioning, said) => {
    const findings = auditReplication(
      source([replicationRule(DESTINATION)], { versioning }),
      [destination()],
      EXPECT,
    );

    expect(findings).toEqual([
      failure(
        "versioning",
        `Bucket ${SOURCE} has versioning ${said}: S3 replicates only from versioned buckets. Enable versioning on ${SOURCE}`,
      ),
    ]);
  });

  it("fails a destination bucket without versioning, naming the rule", () => {
    const findings = auditReplication(
      source([replicationRule(DESTINATION)]),
      [destination({ versioning: "Suspended" })],
      EXPECT,
    );

    expect(findings).toEqual([
      failure(
        "versioning",
        `Bucket ${SOURCE}, rule ${RULE}: the destination ${DESTINATION} has versioning Suspended. Enable versioning on ${DESTINATION}`,
        RULE,
      ),
    ]);
  });

  it.each([
    ["no replication configuration", undefined],
    ["a configuration without rules", []],
  ])("fails a bucket with %s, and audits nothing further", (_, rules) => {
    const findings = auditReplication(source(rules, { versioning: undefined }), [], {
      ...EXPECT,
      replicationTimeControl: true,
    });

    expect(findings).toEqual([
      failure(
        "versioning",
        `Bucket ${SOURCE} has versioning never enabled: S3 replicates only from versioned buckets. Enable versioning on ${SOURCE}`,
      ),
      failure(
        "replication-rule",
        `Bucket ${SOURCE} has no replication configuration: nothing in it reaches the DR region. Add a replication rule to a bucket in ${DR}`,
      ),
    ]);
  });

  it("fails a bucket whose only rule is disabled, naming the disabled rule", () => {
    const findings = auditReplication(
      source([replicationRule(DESTINATION, { Status: "Disabled" })]),
      [destination()],
      EXPECT,
    );

    expect(findings).toEqual([
      failure(
        "coverage",
        `Bucket ${SOURCE}: no enabled replication rule covers the whole bucket (disabled: ${RULE}). Enable a rule with an empty filter, or list the prefixes to check in storage.prefixes`,
      ),
    ]);
  });

  it("fails each configured prefix no enabled rule covers (a rule only for a/ leaves b/ out)", () => {
    const onlyA = replicationRule(DESTINATION, { ID: "only-a", Filter: { Prefix: "a/" } });

    const findings = auditReplication(source([onlyA]), [destination()], {
      ...EXPECT,
      prefixes: ["a/", "b/"],
    });

    expect(findings).toEqual([
      failure(
        "coverage",
        `Bucket ${SOURCE}: no enabled replication rule covers prefix "b/". Enable a rule whose filter prefix is "b/" or shorter`,
      ),
    ]);
  });

  it("does not count a tag-filtered rule as covering anything", () => {
    const tagged = replicationRule(DESTINATION, {
      ID: "tagged",
      Filter: { And: { Prefix: "", Tags: [{ Key: "replicate", Value: "true" }] } },
    });

    const findings = auditReplication(source([tagged]), [destination()], EXPECT);

    expect(findings).toEqual([
      failure(
        "coverage",
        `Bucket ${SOURCE}: no enabled replication rule covers the whole bucket. Enable a rule with an empty filter, or list the prefixes to check in storage.prefixes`,
      ),
    ]);
  });

  it("covers the configured prefixes with a legacy V1 rule (Prefix on the rule, no Filter)", () => {
    const legacy: ReplicationRule = {
      ID: "legacy",
      Status: "Enabled",
      Prefix: "workspaces/",
      Destination: { Bucket: `arn:aws:s3:::${DESTINATION}` },
    };

    expect(
      auditReplication(source([legacy]), [destination()], { ...EXPECT, prefixes: ["workspaces/u1/"] }),
    ).toEqual([]);
    expect(auditReplication(source([legacy]), [destination()], EXPECT)).toEqual([
      failure(
        "coverage",
        `Bucket ${SOURCE}: no enabled replication rule covers the whole bucket. Enable a rule with an empty filter, or list the prefixes to check in storage.prefixes`,
      ),
    ]);
  });

  it("fails a destination outside the DR region", () => {
    const findings = auditReplication(
      source([replicationRule(DESTINATION)]),
      [destination({ region: PRIMARY })],
      EXPECT,
    );

    expect(findings).toEqual([
      failure(
        "destination",
        `Bucket ${SOURCE}, rule ${RULE}: the destination ${DESTINATION} is in ${PRIMARY}, not the DR region ${DR}. Point the rule at a bucket in ${DR}`,
        RULE,
      ),
    ]);
  });

  it("fails a destination that could not be read, with the reason, or that was not read at all", () => {
    const unreadable = auditReplication(
      source([replicationRule(DESTINATION)]),
      [destination({ region: undefined, versioning: undefined, error: "AccessDenied" })],
      EXPECT,
    );
    const unknown = auditReplication(source([replicationRule(DESTINATION)]), [], EXPECT);

    expect(unreadable).toEqual([
      failure(
        "destination",
        `Bucket ${SOURCE}, rule ${RULE}: the destination bucket ${DESTINATION} cannot be read (AccessDenied). Check it exists and that gitpod-dr may read it (storage.destinations)`,
        RULE,
      ),
    ]);
    expect(unknown).toEqual([
      failure(
        "destination",
        `Bucket ${SOURCE}, rule ${RULE}: the destination bucket ${DESTINATION} cannot be read. Check it exists and that gitpod-dr may read it (storage.destinations)`,
        RULE,
      ),
    ]);
  });

  it("compares delete-marker replication with the expectation; 'any' accepts either", () => {
    const off = source([replicationRule(DESTINATION, { DeleteMarkerReplication: { Status: "Disabled" } })]);
    const on = source([replicationRule(DESTINATION, { DeleteMarkerReplication: { Status: "Enabled" } })]);

    expect(auditReplication(off, [destination()], { ...EXPECT, deleteMarkerReplication: "Enabled" })).toEqual(
      [
        failure(
          "delete-markers",
          `Bucket ${SOURCE}, rule ${RULE}: delete-marker replication is Disabled, the configuration expects Enabled. Set DeleteMarkerReplication to Enabled (or storage.expect.deleteMarkerReplication to "any")`,
          RULE,
        ),
      ],
    );
    expect(auditReplication(on, [destination()], { ...EXPECT, deleteMarkerReplication: "Disabled" })).toEqual(
      [
        failure(
          "delete-markers",
          `Bucket ${SOURCE}, rule ${RULE}: delete-marker replication is Enabled, the configuration expects Disabled. Set DeleteMarkerReplication to Disabled (or storage.expect.deleteMarkerReplication to "any")`,
          RULE,
        ),
      ],
    );
    expect(auditReplication(on, [destination()], EXPECT)).toEqual([]);
    expect(auditReplication(off, [destination()], EXPECT)).toEqual([]);
  });

  it("fails an SSE-KMS bucket whose rule selects no SSE-KMS objects and names no replica key", () => {
    const findings = auditReplication(
      source([replicationRule(DESTINATION)], { defaultSseKms: true }),
      [destination()],
      EXPECT,
    );

    expect(findings).toEqual([
      failure(
        "sse-kms",
        `Bucket ${SOURCE}, rule ${RULE}: the bucket encrypts with SSE-KMS but the rule does not select SSE-KMS objects, so they are never replicated. Enable SourceSelectionCriteria.SseKmsEncryptedObjects`,
        RULE,
      ),
      failure(
        "sse-kms",
        `Bucket ${SOURCE}, rule ${RULE}: SSE-KMS objects need a replica KMS key in ${DR}. Set Destination.EncryptionConfiguration.ReplicaKmsKeyID`,
        RULE,
      ),
    ]);
  });

  it("fails an SSE-KMS rule that selects SSE-KMS objects but has no replica key", () => {
    const rule = replicationRule(DESTINATION, {
      SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: "Enabled" } },
    });

    const findings = auditReplication(source([rule], { defaultSseKms: true }), [destination()], EXPECT);

    expect(findings.map((f) => [f.check, f.severity, f.rule])).toEqual([["sse-kms", "failure", RULE]]);
    expect(findings[0]?.message).toContain("Set Destination.EncryptionConfiguration.ReplicaKmsKeyID");
  });

  it("fails a rule without Replication Time Control when RTC is expected", () => {
    const findings = auditReplication(source([replicationRule(DESTINATION)]), [destination()], {
      ...EXPECT,
      replicationTimeControl: true,
    });

    expect(findings).toEqual([
      failure(
        "replication-time-control",
        `Bucket ${SOURCE}, rule ${RULE}: Replication Time Control is off, the configuration expects it. Enable Destination.ReplicationTime (15 minutes)`,
        RULE,
      ),
    ]);
  });

  it("warns about a rule without replication metrics when metrics are expected", () => {
    const findings = auditReplication(source([replicationRule(DESTINATION)]), [destination()], {
      ...EXPECT,
      replicationMetrics: true,
    });

    expect(findings).toEqual([
      {
        bucket: SOURCE,
        severity: "warning",
        check: "replication-metrics",
        rule: RULE,
        message: `Bucket ${SOURCE}, rule ${RULE}: replication metrics are off, so the latency and backlog cannot be checked. Enable Destination.Metrics`,
      },
    ]);
  });

  it("audits every covering rule once, even when it covers several prefixes", () => {
    const whole = replicationRule(DESTINATION, { ID: "whole" });

    const findings = auditReplication(source([whole]), [destination()], {
      ...EXPECT,
      prefixes: ["a/", "b/"],
      replicationTimeControl: true,
    });

    expect(findings.map((f) => [f.check, f.rule])).toEqual([["replication-time-control", "whole"]]);
  });

  // Regression: an unnamed rule is called by its position among the *disabled* rules, not among the
  // rules of the configuration, so the message names the wrong rule.
  it("names an unnamed disabled rule by its position in the configuration", () => {
    const named = replicationRule(DESTINATION, { ID: "only-a", Filter: { Prefix: "a/" } });
    const { ID: _, ...unnamedDisabled } = replicationRule(DESTINATION, {
      Status: "Disabled",
      Filter: { Prefix: "b/" },
    });

    const findings = auditReplication(source([named, unnamedDisabled]), [destination()], {
      ...EXPECT,
      prefixes: ["a/", "b/"],
    });

    expect(findings).toEqual([
      failure(
        "coverage",
        `Bucket ${SOURCE}: no enabled replication rule covers prefix "b/" (disabled: rule #2). Enable a rule whose filter prefix is "b/" or shorter`,
      ),
    ]);
  });

  // Regression: a V1 rule (no Filter) cannot carry DeleteMarkerReplication; S3 replicates delete
  // markers of V1 rules ("Backward compatibility" in the S3 replication guide). The audit reads the missing
  // element as Disabled and fails a configuration that does what is expected.
  it("accepts a legacy V1 rule when delete-marker replication is expected (V1 replicates them)", () => {
    const legacy: ReplicationRule = {
      ID: "legacy",
      Status: "Enabled",
      Prefix: "",
      Destination: { Bucket: `arn:aws:s3:::${DESTINATION}` },
    };

    const findings = auditReplication(source([legacy]), [destination()], {
      ...EXPECT,
      deleteMarkerReplication: "Enabled",
    });

    expect(findings).toEqual([]);
  });
});
