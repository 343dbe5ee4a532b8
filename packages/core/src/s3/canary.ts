import type { Finding } from "./types.ts";

/**
 * Canaries: a small object written under a prefix at every run and verified on later runs (no
 * waiting inside a run). Keys carry their write time: `<prefix>2026-11-26T03-00-00Z-ab12cd`.
 */

export function canaryKey(prefix: string, now: Date, nonce: string): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-");
  return `${prefix}${stamp}-${nonce}`;
}

/** The write time in a canary key, or undefined for a key that is not a canary. */
export function canaryTime(prefix: string, key: string): Date | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z-[a-z0-9]+$/.exec(key.slice(prefix.length));
  if (!m) return undefined;
  const time = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

export interface CanaryObservation {
  readonly key: string;
  readonly writtenAt: Date;
  /** Source HEAD: `ReplicationStatus` (undefined when the object is outside every rule). */
  readonly status: string | undefined;
  readonly etag?: string;
  readonly size?: number;
  /** Destination HEAD; undefined when the replica does not exist (404). */
  readonly replica?: { readonly etag?: string; readonly size?: number };
}

export interface CanaryVerdict {
  readonly findings: Finding[];
  /** Write time of the newest canary that arrived intact. */
  readonly lastReplicatedAt?: Date;
  /** Canaries to delete from both buckets: verified ones past `keepMinutes`, and stalled ones a later canary overtook. */
  readonly cleanup: string[];
  readonly pending: number;
}

/**
 * Judges the canaries found in a bucket.
 *
 * - COMPLETED and present in the destination with the same size (and ETag, unless the bucket uses
 *   SSE-KMS, where a replica's ETag differs): good.
 * - COMPLETED but missing or different in the destination: failure.
 * - FAILED: failure at once.
 * - PENDING past `stalledAfterMinutes`: failure "replication is stalled"; no status at all past it: failure
 *   "S3 has not marked it for replication" (a rule covers the prefix, but did not apply when it was
 *   written). Either is only a warning when a later canary arrived since (replication works again; the
 *   old one is removed).
 */
export function judgeCanaries(
  bucket: string,
  destination: string,
  canaries: readonly CanaryObservation[],
  options: {
    now: Date;
    stalledAfterMinutes: number;
    keepMinutes: number;
    compareEtag: boolean;
    /** The ID of the enabled rule that covers the canary prefix (canaries are written only when one does). */
    rule?: string;
  },
): CanaryVerdict {
  const findings: Finding[] = [];
  const cleanup: string[] = [];
  let pending = 0;
  const sorted = [...canaries].sort((a, b) => a.writtenAt.getTime() - b.writtenAt.getTime());
  const arrived = (c: CanaryObservation) =>
    c.status === "COMPLETED" &&
    c.replica !== undefined &&
    c.replica.size === c.size &&
    (!options.compareEtag || c.replica.etag === c.etag);
  const lastReplicated = [...sorted].reverse().find(arrived);
  const ageMinutes = (c: CanaryObservation) =>
    Math.floor((options.now.getTime() - c.writtenAt.getTime()) / 60_000);
  const fail = (message: string) => findings.push({ bucket, severity: "failure", check: "canary", message });
  for (const c of sorted) {
    const age = ageMinutes(c);
    const overtaken = lastReplicated !== undefined && lastReplicated.writtenAt > c.writtenAt;
    if (arrived(c)) {
      // The newest arrival stays, whatever its age: it is the record of the last good replication.
      if (age > options.keepMinutes && c !== lastReplicated) cleanup.push(c.key);
      continue;
    }
    if (c.status === "COMPLETED") {
      fail(
        c.replica === undefined
          ? `Bucket ${bucket}: canary ${c.key} is COMPLETED at the source but missing from ${destination}: check the destination bucket and its lifecycle rules`
          : `Bucket ${bucket}: canary ${c.key} arrived in ${destination} different from the source (size ${c.replica.size} vs ${c.size}${options.compareEtag ? `, ETag ${c.replica.etag} vs ${c.etag}` : ""})`,
      );
      continue;
    }
    if (c.status === "FAILED") {
      if (overtaken) {
        findings.push({
          bucket,
          severity: "warning",
          check: "canary",
          message: `Bucket ${bucket}: canary ${c.key} FAILED to replicate, but later canaries arrived; removed`,
        });
        cleanup.push(c.key);
      } else {
        findings.push({
          bucket,
          severity: "failure",
          check: "canary",
          code: "replication-failed",
          message: `Bucket ${bucket}: replication FAILED for canary ${c.key} (written ${c.writtenAt.toISOString()}): check the replication role's permissions on ${destination} and its KMS keys`,
        });
      }
      continue;
    }
    // PENDING, or no status at all.
    if (age <= options.stalledAfterMinutes) {
      pending++;
      continue;
    }
    if (overtaken) {
      findings.push({
        bucket,
        severity: "warning",
        check: "canary",
        message: `Bucket ${bucket}: canary ${c.key} never arrived in ${destination}, but later canaries did; removed`,
      });
      cleanup.push(c.key);
      continue;
    }
    fail(
      c.status === undefined
        ? // Canaries are written only when an enabled rule covers their prefix; S3 sets the status (PENDING)
          // when an object is written under a rule that applies, so none means no rule applied then.
          `Bucket ${bucket}: canary ${c.key} (written ${c.writtenAt.toISOString()}) has no replication status after ${age} minutes (threshold ${options.stalledAfterMinutes}): S3 has not marked it for replication, although ${options.rule ? `rule ${options.rule}` : "a replication rule"} now covers the canary prefix and replicates to ${destination}. S3 decides whether an object replicates when it is written, so the rule did not apply to this canary then (added, enabled or changed since, or not yet in effect). Check the rule with \`aws s3api get-bucket-replication --bucket ${bucket}\`; once a later canary arrives, this one is removed`
        : `Bucket ${bucket}: replication is stalled: canary ${c.key} written at ${c.writtenAt.toISOString()} has not arrived in ${destination} after ${age} minutes (threshold ${options.stalledAfterMinutes})`,
    );
  }
  return {
    findings,
    ...(lastReplicated ? { lastReplicatedAt: lastReplicated.writtenAt } : {}),
    cleanup,
    pending,
  };
}
