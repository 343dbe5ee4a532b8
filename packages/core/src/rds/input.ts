import { parseWindowJobEvent } from "../input.ts";
import type { RdsJobInput } from "./job.ts";

/**
 * Validates the RDS job's event: an EventBridge scheduled event or a manual `{ dryRun?, time? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseRdsJobEvent(event: unknown, now: Date): RdsJobInput {
  return parseWindowJobEvent(event, "RDS snapshot job", now);
}
