import type { KubeObject } from "./kube.ts";

/**
 * Every phase Velero documents for a velero.io/v1 Backup: the `+kubebuilder:validation:Enum` of
 * `BackupPhase` in vmware-tanzu/velero `pkg/apis/velero/v1/backup_types.go` (main, May 2026; `Queued`
 * and `ReadyToStart` came with 1.17's backup queue). A phase outside this list is one gitpod-dr does
 * not know.
 */
export const BACKUP_PHASES: ReadonlySet<string> = new Set([
  "New",
  "Queued",
  "ReadyToStart",
  "FailedValidation",
  "InProgress",
  "WaitingForPluginOperations",
  "WaitingForPluginOperationsPartiallyFailed",
  "Finalizing",
  "FinalizingPartiallyFailed",
  "Completed",
  "PartiallyFailed",
  "Failed",
  "Deleting",
]);

/**
 * Velero's phases (velero.io/v1 Backup and Restore `status.phase`). Terminal: Velero's controllers never
 * move a Backup out of these on their own (`Deleting` is not terminal: the object is on its way out, and
 * stays `Deleting` when the deletion fails).
 */
export const TERMINAL_PHASES: ReadonlySet<string> = new Set([
  "Completed",
  "PartiallyFailed",
  "Failed",
  "FailedValidation",
]);
export const FAILED_PHASES: ReadonlySet<string> = new Set(["PartiallyFailed", "Failed", "FailedValidation"]);
/** Phases of a backup or restore that is still going (an object without a phase is `New`). */
export const RUNNING_PHASES: ReadonlySet<string> = new Set([
  "New",
  "Queued",
  "ReadyToStart",
  "InProgress",
  "WaitingForPluginOperations",
  "WaitingForPluginOperationsPartiallyFailed",
  "Finalizing",
  "FinalizingPartiallyFailed",
]);

export interface PhaseReport {
  readonly name: string;
  readonly phase: string;
  readonly terminal: boolean;
  readonly failureReason?: string;
  readonly errors: number;
  readonly warnings: number;
  readonly validationErrors: readonly string[];
  readonly progress?: { readonly done: number; readonly total: number };
  /** Creation time of the object. */
  readonly createdAt?: Date;
  readonly completedAt?: Date;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const date = (v: unknown) =>
  typeof v === "string" && !Number.isNaN(Date.parse(v)) ? new Date(v) : undefined;

/** Reads the status of a Backup or Restore as Velero writes it. */
export function phaseReport(object: KubeObject): PhaseReport {
  const status = (object.status ?? {}) as Record<string, unknown>;
  const phase = typeof status.phase === "string" && status.phase !== "" ? status.phase : "New";
  const progress = status.progress as Record<string, unknown> | undefined;
  const done = num(progress?.itemsBackedUp ?? progress?.itemsRestored);
  const total = num(progress?.totalItems);
  const createdAt = date(object.metadata.creationTimestamp);
  const completedAt = date(status.completionTimestamp);
  return {
    name: object.metadata.name,
    phase,
    terminal: TERMINAL_PHASES.has(phase),
    ...(typeof status.failureReason === "string" && status.failureReason !== ""
      ? { failureReason: status.failureReason }
      : {}),
    errors: num(status.errors),
    warnings: num(status.warnings),
    validationErrors: Array.isArray(status.validationErrors) ? status.validationErrors.map(String) : [],
    ...(progress ? { progress: { done, total } } : {}),
    ...(createdAt ? { createdAt } : {}),
    ...(completedAt ? { completedAt } : {}),
  };
}

/** Newest first by creation time (then name, for a stable order). */
export function newestFirst<T extends KubeObject>(objects: readonly T[]): T[] {
  const at = (o: KubeObject) => Date.parse(o.metadata.creationTimestamp ?? "") || 0;
  return [...objects].sort((a, b) => at(b) - at(a) || b.metadata.name.localeCompare(a.metadata.name));
}
