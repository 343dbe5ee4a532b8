import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "../tags.ts";
import type { Snapshot } from "./types.ts";

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

/**
 * The recovery time of a snapshot: the schedule window the RDS job recorded on it (its
 * `gitpod-dr:window` tag, which a DR copy keeps), or — only for a snapshot without that tag — its
 * SnapshotCreateTime (for an instance snapshot copy, the original's). A cluster snapshot copy's
 * SnapshotCreateTime is the time of the copy, not of the data (RDS API Reference, DBClusterSnapshot;
 * moto agrees), so it cannot order or age DR copies.
 */
export function recoveryTime(snapshot: Pick<Snapshot, "tags" | "createdAt">): {
  at?: Date;
  from: "window tag" | "SnapshotCreateTime";
} {
  const window = Date.parse(snapshot.tags[TAG_WINDOW] ?? "");
  if (!Number.isNaN(window)) return { at: new Date(window), from: "window tag" };
  return { ...(snapshot.createdAt ? { at: snapshot.createdAt } : {}), from: "SnapshotCreateTime" };
}

/** The snapshot with `createdAt` replaced by its recovery time: what retention ages and orders by. */
export function agedByRecoveryTime(snapshot: Snapshot): Snapshot {
  const { createdAt: _, ...rest } = snapshot;
  const at = recoveryTime(snapshot).at;
  return at ? { ...rest, createdAt: at } : rest;
}
