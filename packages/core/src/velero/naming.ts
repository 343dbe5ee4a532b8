import { createHash } from "node:crypto";

/** Names and labels gitpod-dr gives the Velero objects it creates. */

export const LABEL_CREATED_BY = "gitpod-dr/created-by";
export const LABEL_CREATED_BY_VALUE = "gitpod-dr";
export const LABEL_WINDOW = "gitpod-dr/window";
export const LABEL_RESTORE_ID = "gitpod-dr/restore-id";
export const OURS_SELECTOR = `${LABEL_CREATED_BY}=${LABEL_CREATED_BY_VALUE}`;

/** `2026-11-26-0300` for 2026-11-26T03:00Z: the schedule window, to the minute, UTC. */
export function windowStamp(time: Date): string {
  const iso = time.toISOString(); // 2026-11-26T03:00:00.000Z
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** The deterministic backup name of a schedule window: `gitpod-dr-2026-11-26-0300`. */
export function backupName(time: Date): string {
  return `gitpod-dr-${windowStamp(time)}`;
}

/**
 * A restore's name from a caller-supplied id (a Step Functions execution name, say): lower-cased,
 * anything outside RFC 1123 replaced by `-`, cut to fit. The same id always gives the same name.
 */
export function restoreName(restoreId: string): string {
  const cleaned = restoreId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (cleaned === "") throw new RangeError(`restore id "${restoreId}" has no letters or digits`);
  const name = `gitpod-dr-restore-${cleaned}`;
  if (name.length <= 63) return name;
  // Execution names run to 80 characters: a cut alone would give two ids one name. Keep a hash of the id.
  const hash = createHash("sha256").update(restoreId).digest("hex").slice(0, 8);
  return `${name.slice(0, 63 - 9).replace(/-+$/, "")}-${hash}`;
}

/** Label values: at most 63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The name of a restore id's `attempt`-th Velero Restore (the first is `restoreName(restoreId)`). */
export function restoreAttemptName(restoreId: string, attempt: number): string {
  const base = restoreName(restoreId);
  if (attempt <= 1) return base;
  const suffix = `-attempt-${attempt}`;
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}
