import type { S3Client } from "@aws-sdk/client-s3";
import { listBucketsWithPrefix } from "./api.ts";

/** Which buckets a run checks, and which of them get a canary this run. */

/**
 * Buckets matching the prefixes, sorted, each once.
 * @throws AwsAccessDeniedError, AwsThrottledError, AwsCallError when ListBuckets fails.
 */
export async function discoverBuckets(s3: S3Client, prefixes: readonly string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const prefix of prefixes) for (const name of await listBucketsWithPrefix(s3, prefix)) names.add(name);
  return [...names].sort();
}

/**
 * The discovered buckets that get a canary this run: a window of `perRun` that moves by `perRun` every
 * hour, so every bucket is visited in turn and a run's cost stays bounded however many there are.
 */
export function rotatingSample(
  buckets: readonly string[],
  perRun: number,
  now: Date,
  periodMs = 3_600_000,
): string[] {
  if (buckets.length <= perRun) return [...buckets];
  const turn = Math.floor(now.getTime() / periodMs);
  const start = (turn * perRun) % buckets.length;
  return Array.from({ length: perRun }, (_, i) => buckets[(start + i) % buckets.length] as string);
}
