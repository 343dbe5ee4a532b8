import type * as z from "zod";
import { ConfigError } from "../errors.ts";

/** Formats zod issues as `path.to.field: reason` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
}

/**
 * Validates a configuration value against its schema.
 * @param label names the configuration in the message, e.g. "RDS job configuration".
 * @throws ConfigError naming every invalid field and why.
 */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, label: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid ${label}:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}

/**
 * Parses a job's run-time configuration from its JSON text (GITPOD_DR_CONFIG, written by its stack):
 * re-validated at cold start with the schema the stack derived it with.
 * @throws ConfigError when the text is missing, is not JSON, or names an invalid field.
 */
export function parseJobConfig<S extends z.ZodType>(
  schema: S,
  json: string | undefined,
  label: string,
): z.output<S> {
  if (!json) throw new ConfigError(`The ${label} is missing (GITPOD_DR_CONFIG is not set)`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`The ${label} is not valid JSON: ${(cause as Error).message}`);
  }
  return validateConfig(schema, raw, label);
}
