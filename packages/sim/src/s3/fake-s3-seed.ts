/**
 * Seed helpers the S3 tests build their worlds from: replication rules and configurations, the storage
 * job's config, and a seeded random source.
 */
import type { ReplicationConfiguration, ReplicationRule } from "@aws-sdk/client-s3";
import { type StorageJobConfig, storageJobConfigSchema } from "../../../core/src/config.ts";
import { ACCOUNT, DESTINATION, DR, PRIMARY, SOURCE } from "./fake-s3-model.ts";

export function replicationRule(destination: string, extra: Partial<ReplicationRule> = {}): ReplicationRule {
  return {
    ID: "gitpod-dr-crr",
    Priority: 1,
    Status: "Enabled",
    Filter: { Prefix: "" },
    DeleteMarkerReplication: { Status: "Disabled" },
    Destination: { Bucket: `arn:aws:s3:::${destination}` },
    ...extra,
  };
}

export function replicationConfig(...rules: ReplicationRule[]): ReplicationConfiguration {
  return { Role: `arn:aws:iam::${ACCOUNT}:role/s3-replication`, Rules: rules };
}

/**
 * The S3 check's run-time configuration for a test: the explicit bucket SOURCE replicating to
 * DESTINATION, every other setting its default unless given.
 */
export function jobConfig(
  storage: Record<string, unknown> = {},
  extra: { batchRoleArn?: string } = {},
): StorageJobConfig {
  return storageJobConfigSchema.parse({
    stage: "prod",
    account: ACCOUNT,
    regions: { primary: PRIMARY, dr: DR },
    ...extra,
    storage: {
      schedule: "rate(1 hour)",
      buckets: [SOURCE],
      destinations: { buckets: [DESTINATION], bucketPrefixes: [] },
      ...storage,
    },
  });
}

/** A sequence of pseudo-random numbers in [0, 1) from a seed (mulberry32): deterministic samples. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
