import { type Notification, snsMessage, snsSubject } from "../notify/failure.ts";
import { redactKnown } from "../notify/secrets.ts";
import type { ReplicationLag } from "../s3/cloudwatch.ts";
import { NOTIFIED_MARK, STATES, type StateKey, TIER_FAILED } from "./states.ts";
import type { RestorePlan, RestoreRequest, Timed } from "./types.ts";

/**
 * The restore's three messages: the plan (dry run), success, and failure. Each is written for the
 * person who started the restore: what happened, from what, and what to do next. No secret reaches
 * them (the KOTS auth string and database passwords are never in the state; everything is redacted).
 */

/** `1h 02m 03s`, `4m 05s`, `7s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

const span = (t: Timed | undefined): number | undefined => {
  if (!t?.finishedAt) return undefined;
  return Date.parse(t.finishedAt) - Date.parse(t.startedAt);
};

/** The lag as measured: an upper bound, then the range its precision leaves. */
function lagText(seconds: number, precision: number | undefined): string {
  const most = formatDuration(seconds * 1000);
  if (!precision) return `${most} ago`;
  const least = formatDuration(Math.max(0, seconds - precision) * 1000);
  return `at most ${most} ago (between ${least} and ${most}: CloudWatch keeps the S3 check's measurement to the minute)`;
}

function lagLines(lag: readonly ReplicationLag[] | undefined): string[] {
  if (!lag || lag.length === 0) return [];
  return [
    "Object storage (replica bucket): how recent its data is, from the S3 check's last verdict:",
    ...lag.map((l) =>
      l.error
        ? `  - ${l.bucket}: the replication measurement could not be read (${l.error}); the replica may lack an unknown amount of recent workspace data`
        : l.seconds === undefined
          ? `  - ${l.bucket}: no replication measurement on record; the replica may lack an unknown amount of recent workspace data`
          : `  - ${l.bucket}: the last canary known to have replicated was written ${lagText(l.seconds, l.precisionSeconds)}; workspace data written after that may be missing from the replica`,
    ),
  ];
}

/** What the restore takes from the catalog: the recovery point and each tier's age, or why none. */
function recoveryPointLines(request: RestoreRequest): string[] {
  const p = request.recoveryPoint;
  if (!p)
    return request.recoveryPointNote ? [`Recovery point: none used: ${request.recoveryPointNote}.`, ""] : [];
  const ages = Object.entries(p.ages).map(([tier, s]) => `${tier} ${formatDuration((s ?? 0) * 1000)}`);
  return [
    `Recovery point: ${p.recoveryTime} (the newest complete one in the catalog): snapshot ${p.snapshot}${p.veleroBackup ? `, Velero backup ${p.veleroBackup}` : ""}.`,
    `  Age of each tier (what this restore loses): ${ages.join(", ")}.`,
    ...(p.applicationGapFlagged
      ? ["  The Velero backup is more than a backup period newer than the snapshot: a backup was missed."]
      : []),
    "",
  ];
}

export function planMessage(request: RestoreRequest, plan: RestorePlan, stage: string): Notification {
  const lines = [
    `Dry run of restore ${plan.restoreId} (stage ${stage}) into the ${plan.target} region ${plan.region}. Nothing was changed.`,
    "",
    ...recoveryPointLines(request),
    "Plan:",
  ];
  if (plan.database) {
    const d = plan.database;
    lines.push(
      `  - Database: restore snapshot ${d.snapshot.identifier}${d.snapshot.createdAt ? ` (taken ${d.snapshot.createdAt})` : ""} into ${d.kind === "cluster" ? "DB cluster" : "DB instance"} ${d.identifier}${d.adopt ? " (exists from an earlier attempt: adopted)" : ""}, class ${d.settings.instanceClass}, subnet group ${d.settings.subnetGroupName}`,
    );
  } else lines.push("  - Database: not restored");
  if (plan.images)
    lines.push(`  - Images: ensure ${plan.images.items.length} image(s) in ${plan.images.registry}`);
  else lines.push("  - Images: not restored");
  if (plan.application) {
    const a = plan.application;
    lines.push(
      `  - Application: Velero restore ${a.restoreName} from backup ${a.backup.name}${a.backup.takenAt ? ` (taken ${a.backup.takenAt})` : ""} in cluster ${a.cluster}${a.adopt ? " (exists from an earlier attempt: adopted)" : ""}, workloads held (pods gated) until pointed at the restored database`,
    );
  } else lines.push("  - Application: not restored");
  const endpoints = [
    plan.database ? "the restored database" : undefined,
    plan.endpoints.bucket
      ? `bucket ${plan.endpoints.bucket.name} (${plan.endpoints.bucket.region})`
      : undefined,
    plan.endpoints.registry ? `registry ${plan.endpoints.registry}` : undefined,
  ].filter(Boolean);
  if (endpoints.length > 0)
    lines.push(`  - Then: point the application at ${endpoints.join(", ")}; redeploy; verify`);
  lines.push("", "Checked:", ...plan.checked.map((c) => `  - ${c}`));
  lines.push("", `Start it for real with the same input without "dryRun" (restoreId ${request.restoreId}).`);
  return {
    subject: snsSubject(`gitpod-dr ${stage}: restore ${plan.restoreId} plan (dry run)`),
    message: snsMessage(lines.join("\n")),
  };
}

/** What pointing through KOTS did: posted a new app version, or found one an earlier attempt made. */
function kotsText(point: { kotsAction?: string; kotsSequence?: number }): string {
  const version = `app version ${point.kotsSequence ?? "?"}`;
  switch (point.kotsAction) {
    case "deployed":
    case "deploying":
      return `${version}, made by an earlier attempt, already held them (${point.kotsAction}); nothing posted`;
    case "awaitingPreflights":
      return `${version}, made by an earlier attempt, already held them; kotsadm deployed it after its strict preflights; nothing posted`;
    default:
      return "a new app version; KOTS redeployed";
  }
}

export interface SuccessState {
  readonly request: RestoreRequest;
  readonly plan: RestorePlan;
  readonly tiers: {
    readonly database?: Timed & { identifier?: string; endpoint?: string; port?: number; skipped?: boolean };
    readonly images?: readonly (Timed & { reference: string; status: string })[] | { skipped: true };
    readonly application?: Timed & {
      name?: string;
      backupName?: string;
      phase?: string;
      warnings?: number;
      errors?: number;
      partial?: boolean;
      skipped?: boolean;
    };
  };
  readonly point?: Timed & {
    mode: string;
    values: Record<string, string>;
    kotsAction?: string;
    kotsSequence?: number;
    replicationLag?: readonly ReplicationLag[];
    notSet?: readonly string[];
  };
  readonly pointed?: Timed;
  readonly redeploy?: Timed & { released: readonly string[]; restarted: readonly string[] };
  readonly rollout?: Timed;
  readonly verify?: Timed & { workloads: number; health?: { url: string; status: number } };
}

export function successMessage(state: SuccessState, stage: string, now: Date): Notification {
  const { request, plan, tiers } = state;
  const lines = [
    `Restore ${plan.restoreId} (stage ${stage}) into the ${plan.target} region ${plan.region} is complete.`,
    "",
  ];
  const steps: [string, number | undefined][] = [];
  const db = tiers.database && !tiers.database.skipped ? tiers.database : undefined;
  if (plan.database && db) {
    lines.push(
      `Database: ${plan.database.identifier} restored from snapshot ${plan.database.snapshot.identifier}${plan.database.snapshot.createdAt ? ` (taken ${plan.database.snapshot.createdAt})` : ""}.`,
      `  New endpoint: ${db.endpoint ?? "(unknown)"}${db.port ? `:${db.port}` : ""}`,
    );
    steps.push([STATES.restoreDatabase, span(db)]);
  }
  const images = Array.isArray(tiers.images) ? tiers.images : [];
  if (plan.images) {
    const copied = images.filter((i) => i.status === "copied").length;
    lines.push(
      `Images: ${images.length} in ${plan.images.registry} (${copied} copied, ${images.length - copied} already present).`,
    );
    const starts = images.map((i) => Date.parse(i.startedAt));
    const ends = images.map((i) => Date.parse(i.finishedAt ?? i.startedAt));
    if (images.length > 0) steps.push([STATES.ensureImages, Math.max(...ends) - Math.min(...starts)]);
  }
  const app = tiers.application && !tiers.application.skipped ? tiers.application : undefined;
  if (plan.application && app) {
    lines.push(
      `Application: Velero restore ${app.name} from backup ${app.backupName} ended ${app.phase} (${app.warnings ?? 0} warning(s), ${app.errors ?? 0} error(s)).`,
    );
    if (app.partial) {
      lines.push(
        `  PartiallyFailed was accepted (allowPartialRestore). Review: velero restore describe ${app.name} --details`,
      );
    }
    steps.push([STATES.restoreApplication, span(app)]);
    lines.push(
      '  Jobs and CronJobs of the application were restored suspended (part of the hold): resume the ones you need by hand (kubectl patch cronjob NAME -p \'{"spec":{"suspend":false}}\').',
    );
  }
  if (state.point && state.point.mode !== "none") {
    const set = Object.entries(state.point.values).map(([k, v]) => `${k}=${v}`);
    lines.push(
      `Pointed through ${state.point.mode === "kots" ? `the KOTS config (${kotsText(state.point)})` : "the database Secret"}. Values set: ${set.join(", ")}`,
    );
    steps.push([
      STATES.point,
      span(
        state.pointed
          ? {
              startedAt: state.point.startedAt,
              ...(state.pointed.finishedAt ? { finishedAt: state.pointed.finishedAt } : {}),
            }
          : undefined,
      ),
    ]);
  }
  if (state.point?.notSet && state.point.notSet.length > 0) {
    lines.push(
      `NOT pointed (restore.application.point is "secret", which sets the database only): ${state.point.notSet.join(", ")}. Point the application at them yourself.`,
    );
  }
  lines.push(...lagLines(state.point?.replicationLag));
  if (state.redeploy) {
    lines.push(
      `Redeployed: ${state.redeploy.restarted.length} workload(s) restarted${state.redeploy.released.length > 0 ? `, released from the hold: ${state.redeploy.released.join(", ")}` : ""}.`,
    );
    steps.push([STATES.redeploy, span(state.rollout)]);
  }
  if (state.verify) {
    lines.push(
      `Verified: ${state.verify.workloads > 0 ? `${state.verify.workloads} workload(s) available` : "no application workload checked (this restore has no cluster)"}${state.verify.health ? `; ${state.verify.health.url} answered ${state.verify.health.status}` : ""}.`,
    );
    steps.push([STATES.verify, span(state.verify)]);
  }
  lines.push("", "Durations:");
  for (const [name, ms] of steps) lines.push(`  - ${name}: ${ms === undefined ? "?" : formatDuration(ms)}`);
  lines.push(`  - Total: ${formatDuration(now.getTime() - Date.parse(request.executionStartedAt))}`);
  lines.push(
    "",
    "Next: point DNS at the restored application if the region changed, open the KOTS Admin Console to confirm the deployed version, and keep the old database until you no longer need it (the restore never deletes anything).",
  );
  return {
    subject: snsSubject(`gitpod-dr ${stage}: restore ${plan.restoreId} complete`),
    message: snsMessage(lines.join("\n")),
  };
}

export interface CaughtError {
  readonly Error?: string;
  readonly Cause?: string;
}

/** The message of a Lambda error's Cause (`{"errorType","errorMessage","trace"}`), or the cause as is. */
export function causeText(cause: string | undefined): string {
  if (!cause) return "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed === "object" && typeof parsed.errorMessage === "string")
      return parsed.errorMessage;
  } catch {}
  return cause;
}

/** The state that failed and its error, unwrapping a failed Parallel branch to the state inside it. */
export function failedState(failed: Record<string, CaughtError> | undefined): {
  state: string;
  error: string;
  cause: string;
} {
  const [key, caught] = Object.entries(failed ?? {})[0] ?? ["unknown", {}];
  if (caught.Error === TIER_FAILED && caught.Cause) {
    try {
      const inner = JSON.parse(caught.Cause) as Record<string, CaughtError>;
      if (inner && typeof inner === "object" && Object.keys(inner).length > 0) return failedState(inner);
    } catch {
      // A cause that is not valid JSON (a serializer that did not escape the nested cause): read it as text.
      const m = /^\{"(\w+)":\{"Error":"([^"]*)","Cause":"([\s\S]*)"\}\}$/.exec(caught.Cause);
      if (m) return failedState({ [m[1] as string]: { Error: m[2] as string, Cause: m[3] as string } });
    }
  }
  return {
    state: STATES[key as StateKey] ?? key,
    error: caught.Error ?? "Unknown",
    cause: causeText(caught.Cause),
  };
}

export interface FailureInput {
  readonly failed?: Record<string, CaughtError>;
  readonly request?: RestoreRequest;
  readonly plan?: RestorePlan;
  readonly executionName: string;
  readonly executionArn?: string;
  readonly executionStartedAt?: string;
}

export function failureMessage(
  input: FailureInput,
  created: readonly string[],
  stage: string,
  region: string,
  now: Date,
): Notification & { error: string; cause: string } {
  const f = failedState(input.failed);
  const restoreId = input.request?.restoreId ?? input.executionName;
  // The task that failed redacted its own message with the secrets it had read (functions/lib/task.ts);
  // this process adds what it knows, and the patterns.
  const cause = redactKnown(f.cause);
  const lines = [
    `Restore ${restoreId} (stage ${stage}) FAILED at "${f.state}".`,
    "",
    `Error: ${f.error}`,
    `Cause: ${cause || "(none given)"}`,
    "",
  ];
  if (created.length > 0) {
    lines.push(
      "Already created by this restore (nothing is deleted; it is adopted when you start again):",
      ...created.map((c) => `  - ${c}`),
    );
  } else {
    lines.push("Nothing had been created by this restore.");
  }
  lines.push(
    "",
    f.error === "InvalidInput"
      ? "Fix the input (every problem is listed above) and start the restore again."
      : `To resume: fix the cause, then start a new execution with the same input and "restoreId": "${restoreId}". Every step adopts what an earlier attempt with that id created.`,
  );
  if (input.executionArn) {
    lines.push(
      "",
      `Execution: https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${input.executionArn}`,
    );
  }
  if (input.executionStartedAt) {
    lines.push(`Ran for ${formatDuration(now.getTime() - Date.parse(input.executionStartedAt))}.`);
  }
  return {
    subject: snsSubject(`gitpod-dr ${stage}: restore ${restoreId} FAILED at ${f.state}`),
    message: snsMessage(lines.join("\n")),
    error: f.error,
    cause: `${NOTIFIED_MARK} ${f.state}: ${cause}`.slice(0, 32_000),
  };
}
