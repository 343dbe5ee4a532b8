import * as z from "zod";
import { formatIssues } from "../config/parse.ts";
import { InvalidInputError } from "../errors.ts";

/** The events of the sync workflow's three steps, as the state machine passes them (stacks/images/). */

const bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");
const runId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, "must be an execution name (letters, digits, - and _)");

export const workPlanEvent = z.strictObject({ bucket, runId });

const workItem = z.strictObject({
  rule: z.string().min(1),
  source: z.string().min(1),
  destination: z.string().min(1),
  size: z.number().int().min(0).optional(),
  platforms: z.array(z.string()).optional(),
});

/** A child's input: the ItemBatcher's batch (`Items`, and the `BatchInput` it is given). */
export const workBatchEvent = z.looseObject({
  Items: z.array(workItem).min(1, "must hold at least one item"),
});

/** What Plan returns into the state: where the files are, and the totals. */
export const planOutput = z.looseObject({
  bucket,
  itemsKey: z.string().min(1),
  planKey: z.string().min(1),
  resultsPrefix: z.string().min(1),
});

export const workSummaryEvent = z.strictObject({
  /** The execution's start (`$$.Execution.StartTime`): a complete run's recovery time in the catalog. */
  startedAt: z.iso.datetime({ offset: true, error: "must be an ISO 8601 time" }),
  /** Absent when Plan itself failed. */
  plan: planOutput.optional(),
  /** The Map's output: the children's results (a local run), or where its ResultWriter put them (AWS). */
  results: z
    .union([
      z.array(z.unknown()),
      z.looseObject({ ResultWriterDetails: z.strictObject({ Bucket: z.string(), Key: z.string() }) }),
    ])
    .optional(),
  /** The Map's failure, from its Catch (`States.ExceedToleratedFailureThreshold`, …). */
  error: z.looseObject({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

/** The S3 keys of one run's files, under `image-sync/<run>/` (the only prefix the workflow's roles may use). */
export function workKeys(run: string) {
  const prefix = `image-sync/${run}/`;
  return {
    itemsKey: `${prefix}items.json`,
    planKey: `${prefix}plan.json`,
    resultsPrefix: `${prefix}results`,
  };
}

/**
 * Validates a workflow step's event.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseWorkEvent<S extends z.ZodType>(schema: S, event: unknown, step: string): z.output<S> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new InvalidInputError(
      `Invalid input for the image sync's ${step} step: ${issues.join("; ")}`,
      issues,
    );
  }
  return result.data;
}
