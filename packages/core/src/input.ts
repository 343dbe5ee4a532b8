import * as z from "zod";
import { formatIssues } from "./config/parse.ts";
import { InvalidInputError } from "./errors.ts";

/**
 * Validates a scheduled job's event: an EventBridge scheduled event (recognised by its `detail-type`
 * and `source`) against `scheduled`, anything else (a hand-started run) against `manual`, which is
 * strict so that a typo such as `dry_run` is an error instead of a real run.
 *
 * @throws InvalidInputError naming each invalid field.
 */
export function parseJobEvent<S extends z.ZodType, M extends z.ZodType>(
  event: unknown,
  job: string,
  schemas: { scheduled: S; manual: M },
): z.output<S> | z.output<M> {
  const isScheduled =
    typeof event === "object" && event !== null && "detail-type" in event && "source" in event;
  const result = isScheduled ? schemas.scheduled.safeParse(event) : schemas.manual.safeParse(event ?? {});
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new InvalidInputError(`Invalid input for the ${job}: ${issues.join("; ")}`, issues);
  }
  return result.data;
}

const isoTime = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" });

/** The event EventBridge delivers for a schedule: `time` is the scheduled time. Other fields pass. */
const windowScheduledEvent = z.looseObject({ "detail-type": z.literal("Scheduled Event"), time: isoTime });
/** A hand-started run of a windowed job: `dryRun`, and the window to run for (default: now). */
const windowManualInput = z.strictObject({
  dryRun: z.boolean({ error: "must be true or false" }).optional(),
  time: isoTime.optional(),
});

export interface WindowJobInput {
  /** The schedule window the run is for: names what it creates. */
  readonly time: Date;
  readonly dryRun: boolean;
}

/**
 * The input of a job that creates one named thing per schedule window (the RDS snapshot, the Velero
 * backup): a scheduled event (its `time`), or a manual `{ dryRun?, time? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseWindowJobEvent(event: unknown, job: string, now: Date): WindowJobInput {
  const data = parseJobEvent(event, job, { scheduled: windowScheduledEvent, manual: windowManualInput }) as {
    time?: string;
    dryRun?: boolean;
  };
  return { time: data.time ? new Date(data.time) : now, dryRun: data.dryRun ?? false };
}

const scheduledEvent = z.looseObject({ "detail-type": z.literal("Scheduled Event") });
const dryRunInput = z.strictObject({ dryRun: z.boolean({ error: "must be true or false" }).optional() });

/**
 * The input of a job that is not tied to a window (image sync, S3 check): a scheduled event, or a
 * manual `{ dryRun? }`.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseDryRunJobEvent(event: unknown, job: string): { readonly dryRun: boolean } {
  const data = parseJobEvent(event, job, { scheduled: scheduledEvent, manual: dryRunInput }) as {
    dryRun?: boolean;
  };
  return { dryRun: data.dryRun ?? false };
}
