import { parseWindowJobEvent } from "../input.ts";
import type { VeleroBackupInput } from "./backup.ts";

/**
 * Validates the Velero backup job's event: an EventBridge scheduled event (its `time` names the
 * backup) or a manual `{ dryRun?, time? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseVeleroBackupEvent(event: unknown, now: Date): VeleroBackupInput {
  return parseWindowJobEvent(event, "Velero backup job", now);
}
