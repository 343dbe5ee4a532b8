import { z } from "zod";
import { formatIssues } from "../config.ts";
import { InvalidInputError } from "../errors.ts";

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
  const isScheduled =
    typeof event === "object" && event !== null && "detail-type" in event && "source" in event;
  const result = isScheduled
    ? scheduledEventSchema.safeParse(event)
    : manualInputSchema.safeParse(event ?? {});
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new InvalidInputError(`Invalid input for the image sync job: ${issues.join("; ")}`, issues);
  }
  return { dryRun: (result.data as { dryRun?: boolean }).dryRun ?? false };
}
