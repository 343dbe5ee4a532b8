/**
 * The rehearsal's contract: what `runRehearsal` is given, what it reports while it runs, and the report
 * it returns. The CLI (`gitpod-dr rehearse`) prints the events, renders the report (text, `--json`,
 * `--report FILE.html`) and exits 0 when the verdict is `passed`, 1 when `failed`, 2 on bad usage.
 * All times are virtual (the simulation's clock), ISO 8601 in UTC; durations are virtual seconds.
 */
import type { SimWorld } from "./world.ts";

export const SCENARIOS = [
  "region-loss",
  "db-corruption",
  "broken-replication",
  "failed-velero-backup",
  "image-missing",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const TIERS = ["database", "objectStorage", "images", "application"] as const;
export type RehearsalTier = (typeof TIERS)[number];

export interface RehearsalOptions {
  /** The stage file (default: config/example.ts); its identifiers seed the simulated account. */
  readonly configPath?: string;
  readonly scenario: ScenarioName;
  /** Virtual days of scheduled jobs before the disaster (default 3). */
  readonly days: number;
  /** Leave the simulated clusters running after the run (the CLI prints a kubeconfig). */
  readonly keep?: boolean;
  /** Called for every event as it happens (the CLI prints one line each). */
  readonly onEvent?: (event: RehearsalEvent) => void;
  /** Called with the simulated world after the report is made, before the world stops (tests read its end state). */
  readonly inspect?: (world: SimWorld) => Promise<void>;
}

export type EventKind =
  | "setup" // the simulated account is up (registries, clusters, …)
  | "job" // a scheduled job ran (RDS snapshot + DR copy, S3 check, image sync, Velero backup, watchdog, drill)
  | "alarm" // an alarm changed state
  | "message" // an SNS message was published
  | "disaster" // the scenario's disaster happened
  | "restore" // a restore step started or ended
  | "finding" // a configuration problem found
  | "verdict";

export interface RehearsalEvent {
  /** Virtual time. */
  readonly at: string;
  readonly kind: EventKind;
  /** One line a person reads, e.g. "RDS snapshot gitpod-dr-gitpod-db-2026-12-01-0300 copied to eu-central-1". */
  readonly text: string;
  /** For progress: which phase and how far (0..1) the run is. */
  readonly progress?: number;
  /** `ok` / `failed` / `warning`, where it applies. */
  readonly outcome?: "ok" | "failed" | "warning";
  /** Tier of a job event, step name of a restore event, alarm name of an alarm event. */
  readonly subject?: string;
}

export interface RehearsalMessage {
  readonly at: string;
  readonly topicArn: string;
  /** Exactly as published. */
  readonly subject: string;
  readonly body: string;
}

export interface RehearsalAlarm {
  readonly at: string;
  readonly name: string;
  readonly state: "ALARM" | "OK" | "INSUFFICIENT_DATA";
  readonly reason: string;
}

export interface RehearsalStep {
  /** The state machine's state name (e.g. "Restore database"), or a branch's name. */
  readonly name: string;
  /** The parallel branch it ran in (database / images / application / …), if any. */
  readonly branch?: string;
  /** Virtual seconds from the restore's start. */
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly outcome: "ok" | "failed";
}

export interface RehearsalBackup {
  readonly at: string;
  readonly tier: RehearsalTier | "watchdog" | "drill";
  /** The snapshot id, backup name, sync summary, … */
  readonly label: string;
  readonly outcome: "ok" | "failed" | "warning";
}

export interface RehearsalFinding {
  readonly severity: "error" | "warning";
  /** The config field concerned, e.g. "rpo.database" or "restore.targets.dr.database.subnetGroup". */
  readonly field: string;
  readonly message: string;
}

export interface RehearsalReport {
  readonly scenario: ScenarioName;
  /** `passed` when the tool did what the scenario requires. */
  readonly verdict: "passed" | "failed";
  /** What the scenario requires of the tool, and for a failed verdict what was missing. */
  readonly expectation: string;
  readonly reasons: readonly string[];
  readonly config: {
    readonly path: string;
    readonly stage: string;
    readonly primaryRegion: string;
    readonly drRegion: string;
  };
  readonly clock: { readonly start: string; readonly disasterAt: string; readonly end: string };
  /** RPO achieved per tier at the moment of the disaster, in seconds (null: no recovery point for that tier). */
  readonly rpo: Readonly<Record<RehearsalTier, number | null>>;
  /** The recovery point the restore used (ids per tier, and its recovery time). */
  readonly recoveryPoint: {
    readonly recoveryTime: string | null;
    readonly database?: string;
    readonly application?: string;
    readonly images?: string;
    readonly objectStorage?: string;
  };
  readonly rto: {
    readonly totalSeconds: number;
    readonly steps: readonly RehearsalStep[];
    /** Total minus the slowest parallel branch: what the chaining costs. */
    readonly overheadSeconds: number;
  };
  readonly backups: readonly RehearsalBackup[];
  readonly messages: readonly RehearsalMessage[];
  readonly alarms: readonly RehearsalAlarm[];
  readonly findings: readonly RehearsalFinding[];
  /** Real seconds the run took. */
  readonly wallSeconds: number;
}

/** The simulated clusters left running by `keep` (the CLI prints the kubeconfig and waits for Ctrl-C). */
export interface KeptSimulation {
  /** A kubeconfig (YAML) with one context per simulated cluster, reachable on 127.0.0.1. */
  readonly kubeconfig: string;
  stop(): Promise<void>;
}

export interface RehearsalResult {
  readonly report: RehearsalReport;
  readonly kept?: KeptSimulation;
}
