/**
 * The names and tags of everything a drill creates. The code that creates and removes scratch
 * resources and the IAM conditions in `stacks/drill/` read these constants, so the policy that lets the
 * drill delete only its own resources and the names it gives them cannot drift apart.
 */

/** Every scratch DB instance or cluster identifier starts with this (IAM: `db:gitpod-dr-drill-*`). */
export const DRILL_DB_PREFIX = "gitpod-dr-drill-";
/** The tag every scratch resource carries; its value is the drill id. */
export const TAG_DRILL = "gitpod-dr:drill";
/** The label every scratch namespace and the drill's Velero Restore carry (value: the drill id). */
export const LABEL_DRILL = "gitpod-dr/drill";
/** Scratch namespaces are `<namespace>-drill-<id>`. */
export const DRILL_NAMESPACE_INFIX = "-drill-";
/** The drill's Velero Restore and hold ConfigMap are named `gitpod-dr-drill-<id>`. */
export const DRILL_RESTORE_PREFIX = "gitpod-dr-drill-";

/** The Secrets Manager name prefix of a stage's drill credentials (IAM: `secret:<prefix>*`). */
export const drillSecretPrefix = (stage: string): string => `gitpod-dr/${stage}/drill/`;

/**
 * A drill's id: the start minute and 6 characters of the execution name, `20261206-0400-a1b2c3`.
 * Deterministic per execution (a retried step gets the same names), short enough that every name
 * built from it fits its limit (RDS 63, Kubernetes 63), and sorted by time.
 * @throws RangeError when the start time is not a time.
 */
export function drillId(executionName: string, startedAt: string): string {
  const at = new Date(startedAt);
  if (Number.isNaN(at.getTime())) throw new RangeError(`drill start "${startedAt}" is not a time`);
  const iso = at.toISOString();
  const tail =
    executionName
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")
      .slice(0, 6) || "x";
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}-${tail}`;
}

const DRILL_ID = /^\d{8}-\d{4}-[a-z0-9]{1,6}$/;
/** Whether `id` is a drill id (names built from anything else are refused). */
export const isDrillId = (id: string): boolean => DRILL_ID.test(id);

/** The scratch database's identifier. */
export const scratchDbIdentifier = (id: string): string => `${DRILL_DB_PREFIX}${id}`;

/** Whether an RDS identifier is a drill's scratch database (or its Aurora writer). */
export const isScratchDb = (identifier: string): boolean =>
  identifier.startsWith(DRILL_DB_PREFIX) &&
  isDrillId(identifier.slice(DRILL_DB_PREFIX.length).replace(/-writer$/, ""));

/** The scratch namespace an application namespace is restored into (cut to 63 characters). */
export function scratchNamespace(namespace: string, id: string): string {
  const suffix = `${DRILL_NAMESPACE_INFIX}${id}`;
  return `${namespace.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** Velero's `namespaceMapping` for the application's namespaces. */
export const namespaceMapping = (namespaces: readonly string[], id: string): Record<string, string> =>
  Object.fromEntries(namespaces.map((n) => [n, scratchNamespace(n, id)]));

/** The Velero Restore (and hold ConfigMap) name of a drill. */
export const drillRestoreName = (id: string): string => `${DRILL_RESTORE_PREFIX}${id}`;

/** The Secrets Manager secret holding the scratch database's credentials. */
export const drillSecretName = (stage: string, id: string): string => `${drillSecretPrefix(stage)}${id}`;
