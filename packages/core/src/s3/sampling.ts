import type { Finding, StatusCounts } from "./types.ts";

/** Picks up to `size` distinct items at random (a partial Fisher–Yates shuffle). */
export function sample<T>(items: readonly T[], size: number, random: () => number = Math.random): T[] {
  const pool = [...items];
  const n = Math.min(size, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}

export function countStatuses(statuses: readonly (string | undefined)[]): StatusCounts {
  const counts: StatusCounts = {};
  for (const s of statuses) counts[s ?? "NONE"] = (counts[s ?? "NONE"] ?? 0) + 1;
  return counts;
}

/** Findings from a sample: FAILED is a failure; objects with no status are a backlog (repairable). */
export function judgeSample(bucket: string, counts: StatusCounts, sampled: number): Finding[] {
  const findings: Finding[] = [];
  const failed = counts.FAILED ?? 0;
  const none = counts.NONE ?? 0;
  if (failed > 0) {
    findings.push({
      bucket,
      severity: "failure",
      check: "sampling",
      message: `Bucket ${bucket}: ${failed} of ${sampled} sampled objects FAILED to replicate. Fix the cause (replication role, KMS keys) and re-replicate them (storage.repair)`,
    });
  }
  if (none > 0) {
    findings.push({
      bucket,
      severity: "warning",
      check: "sampling",
      message: `Bucket ${bucket}: ${none} of ${sampled} sampled objects have no replication status: they predate the replication rule or fall outside it. Turn on storage.repair to re-replicate them with S3 Batch Replication`,
    });
  }
  return findings;
}
