import { parseDryRunJobEvent } from "../input.ts";
import type { StorageCheckInput } from "./job.ts";

/**
 * Validates the S3 replication check's event: an EventBridge scheduled event or a manual `{ dryRun? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseStorageCheckEvent(event: unknown): StorageCheckInput {
  return parseDryRunJobEvent(event, "S3 replication check");
}
