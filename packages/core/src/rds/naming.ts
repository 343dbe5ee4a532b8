import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "../tags.ts";

/**
 * Tags gitpod-dr puts on every snapshot it creates or copies, beside the tool's created-by tag
 * (`tags.ts`). Nothing without them is ever changed.
 */
export const TAG_SOURCE = "gitpod-dr:source";
export const TAG_WINDOW = "gitpod-dr:window";
export const TAG_SOURCE_SNAPSHOT = "gitpod-dr:source-snapshot";

/** Prefix of every snapshot identifier for a database; IAM policies scope to `${prefix}*`. */
export function snapshotPrefix(databaseIdentifier: string): string {
  return `gitpod-dr-${databaseIdentifier.toLowerCase()}-`;
}

/**
 * The schedule window an invocation belongs to: its EventBridge `time` truncated to the minute.
 * A retried or duplicated delivery of the same scheduled event carries the same `time`, so it maps to
 * the same window and the same snapshot identifier.
 */
export function scheduleWindow(time: Date): Date {
  const window = new Date(time.getTime());
  window.setUTCSeconds(0, 0);
  return window;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `gitpod-dr-<db>-2026-11-26-0300`: deterministic per database and schedule window (UTC). */
export function snapshotIdentifier(databaseIdentifier: string, time: Date): string {
  const w = scheduleWindow(time);
  const stamp = `${w.getUTCFullYear()}-${pad(w.getUTCMonth() + 1)}-${pad(w.getUTCDate())}-${pad(w.getUTCHours())}${pad(w.getUTCMinutes())}`;
  return `${snapshotPrefix(databaseIdentifier)}${stamp}`;
}

/** The tags of a snapshot created for `databaseIdentifier` in the window of `time`. */
export function snapshotTags(databaseIdentifier: string, time: Date): Record<string, string> {
  return {
    [TAG_CREATED_BY]: TAG_CREATED_BY_VALUE,
    [TAG_SOURCE]: databaseIdentifier.toLowerCase(),
    [TAG_WINDOW]: scheduleWindow(time).toISOString(),
  };
}

/** Whether a snapshot's tags say gitpod-dr made it for this database. */
export function isManagedBy(tags: Readonly<Record<string, string>>, databaseIdentifier: string): boolean {
  return (
    tags[TAG_CREATED_BY] === TAG_CREATED_BY_VALUE && tags[TAG_SOURCE] === databaseIdentifier.toLowerCase()
  );
}
