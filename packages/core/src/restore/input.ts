import * as z from "zod";
import { formatIssues } from "../config/parse.ts";
import { rdsIdentifier } from "../config/patterns.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * The restore state machine's input. Every field is optional: `{}` restores the newest good copy of
 * every tier into the configured target. Strict: an unknown field is an error, never ignored.
 */
export const TIERS = ["database", "images", "application"] as const;
export type Tier = (typeof TIERS)[number];

const restoreInputSchema = z.strictObject({
  /** Names everything the restore creates; defaults to the execution name. Same id again: adopt. */
  restoreId: z
    .string({ error: "must be a string" })
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/,
      "must be 1-80 letters, digits, - and _, starting with a letter or digit",
    )
    .optional(),
  target: z.enum(["primary", "dr"], { error: 'must be "primary" or "dr"' }).optional(),
  /** `latest` or a snapshot identifier in the target region. */
  dbSnapshot: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
  /** `latest` or a Velero backup name. */
  veleroBackup: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
  tiers: z
    .array(z.enum(TIERS, { error: `must be one of ${TIERS.join(", ")}` }), { error: "must be a list" })
    .min(1, "must name at least one tier")
    .refine((t) => new Set(t).size === t.length, "must not name a tier twice")
    .optional(),
  targetDbIdentifier: z.string({ error: "must be a string" }).pipe(rdsIdentifier).optional(),
  dryRun: z.boolean({ error: "must be true or false" }).optional(),
  allowPartialRestore: z.boolean({ error: "must be true or false" }).optional(),
});

export interface RestoreInput {
  readonly restoreId: string;
  readonly target: "primary" | "dr";
  readonly dbSnapshot: string;
  readonly veleroBackup: string;
  readonly tiers: readonly Tier[];
  readonly targetDbIdentifier?: string;
  readonly dryRun: boolean;
  readonly allowPartialRestore: boolean;
}

/**
 * Validates the input (shape only; the Validate state then checks it against AWS and the cluster). The
 * input must be a JSON object; `{}` takes every default.
 * @throws InvalidInputError listing every problem (the execution fails with error name InvalidInput).
 */
export function parseRestoreInput(input: unknown, executionName: string): RestoreInput {
  // Only an object: `null` (valid JSON for an execution's input) or a missing input is not `{}`, which
  // would restore every tier. The console's default input is `{}`. (The schema refuses other non-objects.)
  if (input === null || input === undefined) {
    const got = input === null ? "got null" : "there was none";
    const issue = `input: must be a JSON object (${got})`;
    throw new InvalidInputError(
      `Invalid restore input: the input must be a JSON object (${got}); give {} to restore every configured tier`,
      [issue],
    );
  }
  const result = restoreInputSchema.safeParse(input);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new InvalidInputError(`Invalid restore input: ${issues.join("; ")}`, issues);
  }
  const data = result.data;
  const restoreId = data.restoreId ?? executionName;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/.test(restoreId)) {
    const issue = `restoreId: the execution name "${executionName}" cannot serve as one (letters, digits, - and _ only); give restoreId`;
    throw new InvalidInputError(`Invalid restore input: ${issue}`, [issue]);
  }
  return {
    restoreId,
    target: data.target ?? "primary",
    dbSnapshot: data.dbSnapshot ?? "latest",
    veleroBackup: data.veleroBackup ?? "latest",
    tiers: data.tiers ?? [...TIERS],
    ...(data.targetDbIdentifier ? { targetDbIdentifier: data.targetDbIdentifier } : {}),
    dryRun: data.dryRun ?? false,
    allowPartialRestore: data.allowPartialRestore ?? false,
  };
}
