import type { z } from "zod";
import { formatIssues } from "./config.ts";
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
