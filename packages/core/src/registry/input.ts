import { parseDryRunJobEvent } from "../input.ts";

export interface ImageSyncInput {
  readonly dryRun: boolean;
}

/**
 * Validates the image sync job's event: an EventBridge scheduled event or a manual `{ dryRun? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseImageSyncEvent(event: unknown): ImageSyncInput {
  return parseDryRunJobEvent(event, "image sync job");
}
