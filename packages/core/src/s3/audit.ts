import type { ReplicationConfiguration, ReplicationRule } from "@aws-sdk/client-s3";
import type { Finding } from "./types.ts";

/**
 * The configuration audit as a pure function of what S3 answered: versioning on both sides, a rule that
 * is enabled and covers the bucket (or the configured prefixes), the destination's region,
 * delete-marker replication, SSE-KMS criteria and replica key, RTC and metrics when expected.
 */

export interface AuditExpectations {
  /** Object key prefixes replication must cover; empty: the whole bucket. */
  readonly prefixes: readonly string[];
  readonly drRegion: string;
  /** `Enabled`/`Disabled` to require a setting; `any` to accept either. */
  readonly deleteMarkerReplication: "Enabled" | "Disabled" | "any";
  readonly replicationTimeControl: boolean;
  readonly replicationMetrics: boolean;
}

export interface SourceFacts {
  readonly bucket: string;
  /** `Enabled`, `Suspended`, or undefined (never enabled). */
  readonly versioning: string | undefined;
  /** Undefined: the bucket has no replication configuration. */
  readonly replication: ReplicationConfiguration | undefined;
  /** The bucket's default encryption is SSE-KMS. */
  readonly defaultSseKms: boolean;
}

export interface DestinationFacts {
  readonly bucket: string;
  readonly region: string | undefined;
  readonly versioning: string | undefined;
  /** Set when the destination could not be read (access denied, gone). */
  readonly error?: string;
}

/** The bucket name of a destination ARN (`arn:aws:s3:::name`). */
export function bucketOfArn(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const m = /^arn:[^:]+:s3:::([^/]+)$/.exec(arn);
  return m ? m[1] : arn;
}

/** The key prefix a rule applies to; `undefined` when it filters by tag (it never covers everything). */
export function rulePrefix(rule: ReplicationRule): string | undefined {
  const filter = rule.Filter;
  if (filter) {
    if (filter.Tag || (filter.And?.Tags && filter.And.Tags.length > 0)) return undefined;
    return filter.Prefix ?? filter.And?.Prefix ?? "";
  }
  return rule.Prefix ?? "";
}

/** The enabled rules that cover a key prefix (the whole bucket for ""). */
export function coveringRules(rules: readonly ReplicationRule[], prefix: string): ReplicationRule[] {
  return rules.filter((rule) => {
    if (rule.Status !== "Enabled") return false;
    const p = rulePrefix(rule);
    return p !== undefined && prefix.startsWith(p);
  });
}

const ruleName = (rule: ReplicationRule, i: number) => rule.ID ?? `rule #${i + 1}`;

/** The destination buckets of the rules that cover the expected prefixes (to audit them). */
export function destinationsOf(facts: SourceFacts, expect: AuditExpectations): string[] {
  const rules = facts.replication?.Rules ?? [];
  const wanted = expect.prefixes.length > 0 ? expect.prefixes : [""];
  const names = new Set<string>();
  for (const prefix of wanted) {
    for (const rule of coveringRules(rules, prefix)) {
      const name = bucketOfArn(rule.Destination?.Bucket);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

export function auditReplication(
  facts: SourceFacts,
  destinations: readonly DestinationFacts[],
  expect: AuditExpectations,
): Finding[] {
  const bucket = facts.bucket;
  const findings: Finding[] = [];
  const fail = (check: Finding["check"], message: string, rule?: string) =>
    findings.push({ bucket, severity: "failure", check, message, ...(rule ? { rule } : {}) });
  const warn = (check: Finding["check"], message: string, rule?: string) =>
    findings.push({ bucket, severity: "warning", check, message, ...(rule ? { rule } : {}) });

  if (facts.versioning !== "Enabled") {
    fail(
      "versioning",
      `Bucket ${bucket} has versioning ${facts.versioning ?? "never enabled"}: S3 replicates only from versioned buckets. Enable versioning on ${bucket}`,
    );
  }
  const rules = facts.replication?.Rules ?? [];
  if (!facts.replication || rules.length === 0) {
    fail(
      "replication-rule",
      `Bucket ${bucket} has no replication configuration: nothing in it reaches the DR region. Add a replication rule to a bucket in ${expect.drRegion}`,
    );
    return findings;
  }
  const nameOf = (rule: ReplicationRule) => ruleName(rule, rules.indexOf(rule));
  const wanted = expect.prefixes.length > 0 ? expect.prefixes : [""];
  const covering = new Map<string, ReplicationRule>();
  for (const prefix of wanted) {
    const found = coveringRules(rules, prefix);
    if (found.length === 0) {
      const disabled = rules.filter((r) => r.Status !== "Enabled").map(nameOf);
      fail(
        "coverage",
        prefix === ""
          ? `Bucket ${bucket}: no enabled replication rule covers the whole bucket${disabled.length > 0 ? ` (disabled: ${disabled.join(", ")})` : ""}. Enable a rule with an empty filter, or list the prefixes to check in storage.prefixes`
          : `Bucket ${bucket}: no enabled replication rule covers prefix "${prefix}"${disabled.length > 0 ? ` (disabled: ${disabled.join(", ")})` : ""}. Enable a rule whose filter prefix is "${prefix}" or shorter`,
      );
    }
    for (const rule of found) covering.set(rule.ID ?? JSON.stringify(rule.Filter ?? rule.Prefix ?? ""), rule);
  }
  for (const rule of covering.values()) {
    const name = nameOf(rule);
    const destination = bucketOfArn(rule.Destination?.Bucket);
    const dest = destinations.find((d) => d.bucket === destination);
    if (!dest || dest.error) {
      fail(
        "destination",
        `Bucket ${bucket}, rule ${name}: the destination bucket ${destination ?? "(none)"} cannot be read${dest?.error ? ` (${dest.error})` : ""}. Check it exists and that gitpod-dr may read it (storage.destinations)`,
        name,
      );
    } else {
      if (dest.region !== expect.drRegion) {
        fail(
          "destination",
          `Bucket ${bucket}, rule ${name}: the destination ${dest.bucket} is in ${dest.region ?? "an unknown region"}, not the DR region ${expect.drRegion}. Point the rule at a bucket in ${expect.drRegion}`,
          name,
        );
      }
      if (dest.versioning !== "Enabled") {
        fail(
          "versioning",
          `Bucket ${bucket}, rule ${name}: the destination ${dest.bucket} has versioning ${dest.versioning ?? "never enabled"}. Enable versioning on ${dest.bucket}`,
          name,
        );
      }
    }
    // A V1 rule (no Filter) cannot carry DeleteMarkerReplication: S3 replicates its delete markers.
    const deleteMarkers =
      rule.Filter === undefined ? "Enabled" : (rule.DeleteMarkerReplication?.Status ?? "Disabled");
    if (expect.deleteMarkerReplication !== "any" && deleteMarkers !== expect.deleteMarkerReplication) {
      fail(
        "delete-markers",
        `Bucket ${bucket}, rule ${name}: delete-marker replication is ${deleteMarkers}, the configuration expects ${expect.deleteMarkerReplication}. Set DeleteMarkerReplication to ${expect.deleteMarkerReplication} (or storage.expect.deleteMarkerReplication to "any")`,
        name,
      );
    }
    if (facts.defaultSseKms) {
      const criteria = rule.SourceSelectionCriteria?.SseKmsEncryptedObjects?.Status;
      const replicaKey = rule.Destination?.EncryptionConfiguration?.ReplicaKmsKeyID;
      if (criteria !== "Enabled") {
        fail(
          "sse-kms",
          `Bucket ${bucket}, rule ${name}: the bucket encrypts with SSE-KMS but the rule does not select SSE-KMS objects, so they are never replicated. Enable SourceSelectionCriteria.SseKmsEncryptedObjects`,
          name,
        );
      }
      if (!replicaKey) {
        fail(
          "sse-kms",
          `Bucket ${bucket}, rule ${name}: SSE-KMS objects need a replica KMS key in ${expect.drRegion}. Set Destination.EncryptionConfiguration.ReplicaKmsKeyID`,
          name,
        );
      }
    }
    if (expect.replicationTimeControl && rule.Destination?.ReplicationTime?.Status !== "Enabled") {
      fail(
        "replication-time-control",
        `Bucket ${bucket}, rule ${name}: Replication Time Control is off, the configuration expects it. Enable Destination.ReplicationTime (15 minutes)`,
        name,
      );
    }
    if (expect.replicationMetrics && rule.Destination?.Metrics?.Status !== "Enabled") {
      warn(
        "replication-metrics",
        `Bucket ${bucket}, rule ${name}: replication metrics are off, so the latency and backlog cannot be checked. Enable Destination.Metrics`,
        name,
      );
    }
  }
  return findings;
}
