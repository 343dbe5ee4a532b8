import { z } from "zod";
import { parseJobEvent } from "../input.ts";

export interface ImageSyncInput {
  readonly dryRun: boolean;
}

const scheduledEventSchema = z.looseObject({ "detail-type": z.literal("Scheduled Event") });
/** A hand-started run: strict, so a typo such as `dry_run` is an error and not a real run. */
const manualInputSchema = z.strictObject({
  dryRun: z.boolean({ error: "must be true or false" }).optional(),
});

/**
 * Validates the image sync job's event: an EventBridge scheduled event or a manual `{ dryRun? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseImageSyncEvent(event: unknown): ImageSyncInput {
  const data = parseJobEvent(event, "image sync job", {
    scheduled: scheduledEventSchema,
    manual: manualInputSchema,
  });
  return { dryRun: (data as { dryRun?: boolean }).dryRun ?? false };
}
