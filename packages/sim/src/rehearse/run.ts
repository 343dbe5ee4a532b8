/**
 * `runRehearsal`: the whole backup → disaster → restore cycle of a stage on a simulated account. The
 * stage's scheduled jobs run on a virtual clock for `days`, the scenario's disaster happens, then the
 * restore state machine synthesized from the stack runs in aws-local-stepfunctions against the restore
 * functions' core calls; the report says whether the tool did what the scenario requires.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { StageConfigInput } from "../../../core/src/config/stage.ts";
import { importStageFile, loadStageConfigFile } from "../../../core/src/config-file.ts";
import { restoreMachineOf } from "../restore/machine.ts";
import { firings, VIRTUAL_START } from "./clock.ts";
import { type DrillRun, RehearsalDrill } from "./drill-run.ts";
import { alarmFindings, configFindings } from "./findings.ts";
import { runJob, type ScheduledJob, scheduledJobs, topicArn } from "./jobs.ts";
import { kubeconfigFor } from "./kubeconfig.ts";
import { runRestoreMachine } from "./restore-run.ts";
import { restoreTasks } from "./restore-tasks.ts";
import { rpoAtDisaster } from "./rpo.ts";
import { SCENARIO_PLAYS } from "./scenarios.ts";
import { seedWorld, WorldMotion } from "./seed.ts";
import type {
  RehearsalAlarm,
  RehearsalBackup,
  RehearsalEvent,
  RehearsalFinding,
  RehearsalMessage,
  RehearsalOptions,
  RehearsalReport,
  RehearsalResult,
} from "./types.ts";
import { startWorld } from "./world.ts";

const HOUR_MS = 3_600_000;
export const DEFAULT_CONFIG = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../config/example.ts",
);

/**
 * Runs one rehearsal.
 * @throws ConfigError when the stage file is missing or invalid (bad usage); any other error is a fault
 *   of the simulation, not a verdict.
 */
export async function runRehearsal(options: RehearsalOptions): Promise<RehearsalResult> {
  const wallStart = performance.now();
  const configPath = options.configPath ?? DEFAULT_CONFIG;
  const { stage, config } = await loadStageConfigFile(configPath);
  const raw = (await importStageFile(resolve(configPath))).default as { default?: unknown } | undefined;
  const input = (raw?.default ?? raw) as StageConfigInput;
  const play = SCENARIO_PLAYS[options.scenario];
  let clock = VIRTUAL_START;
  const disasterAt = new Date(VIRTUAL_START.getTime() + options.days * 24 * HOUR_MS);
  const events: RehearsalEvent[] = [];
  let progress = 0;
  const emit = (event: Omit<RehearsalEvent, "at" | "progress">, at: Date = clock) => {
    const full: RehearsalEvent = { ...event, at: at.toISOString(), progress };
    events.push(full);
    options.onEvent?.(full);
  };
  const findings: RehearsalFinding[] = configFindings(config);
  for (const f of findings)
    emit({
      kind: "finding",
      text: `${f.field}: ${f.message}`,
      outcome: f.severity === "error" ? "failed" : "warning",
    });

  const world = await startWorld({ stage, config, clock: () => clock, kotsadmIn: play.target });
  const drill = config.drill ? new RehearsalDrill(world, input) : undefined;
  let kept = false;
  try {
    await seedWorld(world);
    const motion = new WorldMotion(world);
    for (const note of world.notes) emit({ kind: "setup", text: note });
    emit({
      kind: "setup",
      text: `simulated account up: ${config.regions.primary} and ${config.regions.dr}, clusters ${[world.primary.name, world.dr?.name].filter(Boolean).join(", ")}${world.registries ? ", two docker-registry instances" : ""}`,
      outcome: "ok",
    });
    await play.prepare?.(world, motion, disasterAt);

    // Days of scheduled jobs on the virtual clock.
    const backups: RehearsalBackup[] = [];
    const alarms: RehearsalAlarm[] = [];
    let messagesSeen = 0;
    const flushMessages = () => {
      for (const m of world.account.messages.slice(messagesSeen)) {
        emit({ kind: "message", text: m.subject, subject: m.topicArn }, m.at);
      }
      messagesSeen = world.account.messages.length;
    };
    const jobs: (ScheduledJob | DrillJob)[] = [
      ...scheduledJobs(world),
      ...(config.drill
        ? [{ job: "drill" as const, tier: "drill" as const, schedule: config.drill.schedule }]
        : []),
    ];
    const runs = jobs
      .flatMap((job) => firings(job.schedule, VIRTUAL_START, disasterAt).map((time) => ({ time, job })))
      // At one time, the tier jobs first and the watchdog last (it reads what they recorded).
      .sort(
        (a, b) =>
          a.time.getTime() - b.time.getTime() ||
          Number(a.job.tier === "watchdog") - Number(b.job.tier === "watchdog"),
      );
    for (const [i, { time, job }] of runs.entries()) {
      clock = time;
      progress = (0.7 * i) / runs.length;
      motion.advance(time);
      await play.beforeJob?.(world, motion, time, job.job);
      if (job.tier === "drill") {
        const run = await (drill as RehearsalDrill).run(time, (at) => {
          clock = at;
        });
        backups.push(drillBackup(run));
        // A drill that fails in the rehearsal says the recovery point does not restore: the run fails.
        if (run.status !== "SUCCEEDED") findings.push(drillFinding(run, drill?.note));
        emit(
          { kind: "job", text: drillText(run, drill?.note), subject: "drill", outcome: drillOutcome(run) },
          run.endedAt,
        );
        clock = time;
        flushMessages();
        continue;
      }
      const result = await runJob(world, job, time);
      const outcome = result.ok ? "ok" : "failed";
      if (job.tier !== "watchdog" || !result.ok) {
        backups.push({
          at: time.toISOString(),
          tier: job.tier,
          label: result.ok ? result.text : `${job.job}: ${result.error.name}`,
          outcome,
        });
        emit({
          kind: "job",
          text: result.ok ? result.text : `${job.job} failed: ${result.error.name}: ${result.error.message}`,
          subject: job.tier,
          outcome,
        });
      }
      if (job.tier === "watchdog") {
        for (const change of world.account.cloudwatch.evaluate()) {
          alarms.push({
            at: change.at.toISOString(),
            name: change.name,
            state: change.state,
            reason: change.reason,
          });
          emit({
            kind: "alarm",
            text: `${change.name}: ${change.previous} → ${change.state} (${change.reason})`,
            subject: change.name,
            outcome: change.state === "ALARM" ? "warning" : "ok",
          });
          await world.account.cache
            .client(SNSClient, config.regions.dr)
            .send(alarmMessage(world.stage, change, topicArn(world, config.regions.dr), config.regions.dr));
        }
      }
      flushMessages();
    }

    findings.push(...alarmFindings(world, alarms, play.breaks ?? []));

    // The disaster, then the restore.
    clock = disasterAt;
    progress = 0.7;
    const rpo = rpoAtDisaster(world, disasterAt);
    const disaster = await play.disaster(world, disasterAt);
    emit({ kind: "disaster", text: disaster.text, outcome: "failed" });
    // The restore runs where its target is: into DR from the standby stack in the DR region.
    const home = play.target === "dr" ? config.regions.dr : config.regions.primary;
    const { definition } = await restoreMachineOf(input, {
      stage,
      region: home,
      kind: play.target === "dr" ? "standby" : "primary",
    });
    const restoreStart = new Date(disasterAt.getTime() + 15 * 60_000);
    clock = restoreStart;
    emit({ kind: "restore", text: `restore started: ${JSON.stringify(disaster.input)}`, subject: "start" });
    const run = await runRestoreMachine({
      world,
      definition,
      input: disaster.input,
      name: `rehearsal-${options.scenario}`,
      region: home,
      start: restoreStart,
      tasks: (now) => restoreTasks(world, now, home),
      backupItems: (backup) => motion.items(backup),
      onClock: (at) => {
        clock = at;
      },
      onStep: (step, at) => {
        progress = Math.min(0.99, 0.7 + step.endSeconds / 20_000);
        emit(
          {
            kind: "restore",
            text: `${step.branch ? `[${step.branch}] ` : ""}${step.name} (${step.endSeconds - step.startSeconds} s)`,
            subject: step.name,
            outcome: step.outcome,
          },
          at,
        );
      },
    });
    clock = new Date(restoreStart.getTime() + run.totalSeconds * 1000);
    flushMessages();
    const verdict = await play.judge(world, { run, disaster, rpo, backups, alarms, disasterAt, findings });
    const failed = verdict.reasons.length > 0 || findings.some((f) => f.severity === "error");
    const reasons = [
      ...verdict.reasons,
      ...findings.filter((f) => f.severity === "error").map((f) => `finding: ${f.field}: ${f.message}`),
    ];
    progress = 1;
    emit({
      kind: "verdict",
      text: `${failed ? "FAILED" : "PASSED"}: ${play.expectation}${reasons.length ? ` — ${reasons.join("; ")}` : ""}`,
      outcome: failed ? "failed" : "ok",
    });
    const messages: RehearsalMessage[] = world.account.messages.map((m) => ({
      at: m.at.toISOString(),
      topicArn: m.topicArn,
      subject: m.subject,
      body: m.body,
    }));
    const report: RehearsalReport = {
      scenario: options.scenario,
      verdict: failed ? "failed" : "passed",
      expectation: play.expectation,
      reasons,
      config: { path: configPath, stage, primaryRegion: config.regions.primary, drRegion: config.regions.dr },
      clock: {
        start: VIRTUAL_START.toISOString(),
        disasterAt: disasterAt.toISOString(),
        end: clock.toISOString(),
      },
      rpo,
      recoveryPoint: verdict.recoveryPoint,
      rto: { totalSeconds: run.totalSeconds, steps: run.steps, overheadSeconds: run.overheadSeconds },
      backups,
      messages,
      alarms,
      findings,
      wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
    };
    await options.inspect?.(world);
    if (options.keep) {
      kept = true;
      return { report, kept: { kubeconfig: kubeconfigFor(world), stop: () => world.stop() } };
    }
    return { report };
  } finally {
    await drill?.stop();
    if (!kept) await world.stop();
  }
}

/** The drill among the scheduled jobs (it runs as a state machine execution, drill-run.ts). */
interface DrillJob {
  readonly job: "drill";
  readonly tier: "drill";
  readonly schedule: string;
}

const drillOutcome = (run: DrillRun) => (run.status === "SUCCEEDED" ? "ok" : "failed");

function drillBackup(run: DrillRun): RehearsalBackup {
  return {
    at: run.startedAt.toISOString(),
    tier: "drill",
    label: `restore drill ${run.drillId ?? ""}: ${run.status === "SUCCEEDED" ? "passed" : `failed (${run.error ?? "?"})`}`,
    outcome: drillOutcome(run),
  };
}

/** A failed drill as a finding of severity error: the rehearsal's verdict is then failed. */
function drillFinding(run: DrillRun, note: string | undefined): RehearsalFinding {
  return {
    severity: "error",
    field: "drill",
    message: `the restore drill of ${run.startedAt.toISOString()} failed: ${drillText(run, note)}`,
  };
}

/** The drill's line: passed, or the failed step and its error (and why the rehearsal could not pass it). */
function drillText(run: DrillRun, note: string | undefined): string {
  const minutes = Math.round((run.endedAt.getTime() - run.startedAt.getTime()) / 60_000);
  if (run.status === "SUCCEEDED") return `restore drill ${run.drillId ?? ""} passed (${minutes} virtual min)`;
  const failed = run.steps.filter((s) => s.error);
  const first = failed[0];
  return `restore drill ${run.drillId ?? ""} failed${first ? ` at ${first.state}: ${first.error}` : `: ${run.error ?? ""} ${run.cause ?? ""}`}${note ? ` — ${note}` : ""}`;
}

/** The message a CloudWatch alarm action publishes (subject and JSON body as CloudWatch writes them). */
function alarmMessage(
  stage: string,
  change: { name: string; state: string; previous: string; reason: string; at: Date },
  topic: string,
  region: string,
) {
  return new PublishCommand({
    TopicArn: topic,
    Subject: `${change.state}: "${change.name}" in ${region}`.slice(0, 100),
    Message: JSON.stringify({
      AlarmName: change.name,
      AlarmDescription: `RPO alarm of stage ${stage}`,
      NewStateValue: change.state,
      NewStateReason: change.reason,
      StateChangeTime: change.at.toISOString(),
      Region: region,
      OldStateValue: change.previous,
    }),
  });
}
