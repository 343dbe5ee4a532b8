import { z } from "zod";
import { parseJobEvent } from "../input.ts";
import type { RdsJobInput } from "./job.ts";

/** The event EventBridge delivers for a schedule: `time` is the scheduled time. Other fields pass. */
const scheduledEventSchema = z.looseObject({
  "detail-type": z.literal("Scheduled Event"),
  time: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }),
});

/**
 * A hand-started invocation (console, CLI): strict, so that a typo such as `dry_run` is an error
 * instead of a real run.
 */
const manualInputSchema = z.strictObject({
  dryRun: z.boolean({ error: "must be true or false" }).optional(),
  /** The window to run for; defaults to now. */
  time: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }).optional(),
});

/**
 * Validates the RDS job's event: an EventBridge scheduled event or a manual `{ dryRun?, time? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseRdsJobEvent(event: unknown, now: Date): RdsJobInput {
  const data = parseJobEvent(event, "RDS snapshot job", {
    scheduled: scheduledEventSchema,
    manual: manualInputSchema,
  }) as { time?: string; dryRun?: boolean };
  return { time: data.time ? new Date(data.time) : now, dryRun: data.dryRun ?? false };
}
