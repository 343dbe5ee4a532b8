/**
 * One execution of the synthesized restore machine in aws-local-stepfunctions, on virtual time: Wait
 * states take no real time and add their seconds to the virtual clock of the branch they are in; each
 * task takes a modelled duration (an RDS restore 15–30 min by allocated size, a Velero restore minutes by
 * item count, an image copy by bytes at a bandwidth); Parallel branches run side by side and the Map of
 * images runs `MaxConcurrency` copies at once. The simulators move only when virtual time says so.
 */
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { type LocalExecution, runLocalExecution } from "../restore/local-run.ts";
import { describeStates, lambdaError, TASK_FUNCTIONS } from "../restore/machine.ts";
import type { RestoreTasks } from "./restore-tasks.ts";
import { type RehearsalStep, TIERS } from "./types.ts";
import type { SimCluster, SimWorld } from "./world.ts";

export interface DurationModel {
  /** The restored database's allocated storage: an RDS restore takes 15 min + 15 min × GiB / 1000 (at most 30). */
  readonly allocatedGiB: number;
  /** Image copy bandwidth, bytes per second. */
  readonly bandwidthBytesPerSecond: number;
  /** Seconds per object a Velero restore writes, plus one minute. */
  readonly veleroSecondsPerItem: number;
  /** Any other task (an invocation and a few API calls). */
  readonly taskSeconds: number;
}

export const DEFAULT_DURATIONS: DurationModel = {
  allocatedGiB: 200,
  bandwidthBytesPerSecond: 50_000_000,
  veleroSecondsPerItem: 2,
  taskSeconds: 2,
};

export const rdsRestoreSeconds = (m: DurationModel) =>
  Math.round(60 * (15 + Math.min(15, (15 * m.allocatedGiB) / 1000)));

export interface RestoreRun {
  readonly status: "SUCCEEDED" | "FAILED";
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly steps: RehearsalStep[];
  readonly totalSeconds: number;
  /** Total minus the slowest parallel branch. */
  readonly overheadSeconds: number;
  readonly calls: { state: string; event: unknown; result?: unknown; error?: string }[];
}

const branchLabel = (start: string | undefined) =>
  start ? (TIERS.find((t) => start.toLowerCase().includes(t.toLowerCase())) ?? start) : undefined;

export async function runRestoreMachine(options: {
  world: SimWorld;
  definition: StateMachineDefinition;
  input: unknown;
  name: string;
  /** Where the machine runs. */
  region: string;
  start: Date;
  /** The task functions over the virtual clock `now`, installed for the execution and released after it. */
  tasks: (now: () => Date) => RestoreTasks;
  durations?: DurationModel;
  onStep?: (step: RehearsalStep, at: Date) => void;
  /** How many objects a Velero backup holds (its restore takes a minute plus seconds per item). */
  backupItems?: (backup: string) => number;
  /** Told the virtual time whenever it moves (the account's clock follows it). */
  onClock?: (at: Date) => void;
  timeoutMs?: number;
}): Promise<RestoreRun> {
  const { world, definition, input, start } = options;
  const model = options.durations ?? DEFAULT_DURATIONS;
  const states = describeStates(definition);
  let main = 0;
  const branches = new Map<number, { time: number; lanes?: number[]; prev?: string }>();
  let mainPrev: string | undefined;
  let current = 0;
  const now = () => new Date(start.getTime() + current * 1000);
  const steps: RehearsalStep[] = [];
  const calls: RestoreRun["calls"] = [];
  let target: SimCluster = world.primary;
  let dbStartedAt: number | undefined;
  let appStartedAt: number | undefined;
  let appItems = 0;

  const waitBefore = (state: string, prev: string | undefined) => {
    if (prev && states.get(prev)?.next === state) return 0;
    for (const info of states.values()) {
      if (info.type === "Wait" && info.next === state && prev) return info.seconds ?? 0;
    }
    return 0;
  };

  const bind = (state: string) => async (raw: unknown) => {
    if (calls.length > 400) throw new Error("more than 400 task invocations: a loop spins");
    const info = states.get(state);
    let startAt: number;
    let lane: number | undefined;
    const b = info?.branch;
    if (b === undefined) {
      if (branches.size > 0) {
        main = Math.max(main, ...[...branches.values()].map((x) => x.time));
        branches.clear();
      }
      main += waitBefore(state, mainPrev);
      mainPrev = state;
      startAt = main;
    } else {
      let clock = branches.get(b);
      if (!clock) {
        clock = { time: main };
        branches.set(b, clock);
      }
      clock.time += waitBefore(state, clock.prev);
      clock.prev = state;
      startAt = clock.time;
      if (state === "Ensure image") {
        const n = states.get("Ensure images")?.maxConcurrency || 4;
        clock.lanes ??= Array.from({ length: n }, () => clock.time);
        lane = clock.lanes.indexOf(Math.min(...clock.lanes));
        startAt = clock.lanes[lane] as number;
      }
    }
    current = startAt;
    options.onClock?.(now());
    target.api.store.setNow(now());
    // The world moves by virtual time before each check.
    if (
      state === "Check database" &&
      dbStartedAt !== undefined &&
      startAt - dbStartedAt >= rdsRestoreSeconds(model)
    ) {
      const e = raw as { region: string; database: { identifier: string; kind: "instance" | "cluster" } };
      const region = world.account.rds.region(e.region);
      if (region.database(e.database.kind, e.database.identifier)?.status === "creating") {
        region.settle(e.database.kind, e.database.identifier, "available");
      }
    }
    if (
      state === "Check application restore" &&
      appStartedAt !== undefined &&
      startAt - appStartedAt >= 60 + model.veleroSecondsPerItem * appItems
    ) {
      target.api.velero.tick();
    }
    if (state === "Check configuration") {
      world.kotsadm?.tick();
      target.api.velero.tick();
    }
    if (state === "Check rollout") target.api.velero.tick();

    const event = JSON.parse(JSON.stringify(raw)) as unknown;
    const call: RestoreRun["calls"][number] = { state, event };
    calls.push(call);
    const fn = TASK_FUNCTIONS[state as keyof typeof TASK_FUNCTIONS];
    let duration = model.taskSeconds;
    let outcome: RehearsalStep["outcome"] = "ok";
    try {
      if (!fn) throw new Error(`no function bound to state ${state}`);
      const task = tasks[fn];
      if (!task) throw new Error(`no task function ${fn}`);
      const result = JSON.parse(JSON.stringify((await task(event)) ?? null)) as unknown;
      call.result = result;
      if (state === "Build plan") {
        const planned = (result as { cluster?: string }).cluster;
        if (world.dr && planned === world.dr.name) target = world.dr;
      }
      if (state === "Ensure image") {
        duration += ((result as { bytesMoved?: number }).bytesMoved ?? 0) / model.bandwidthBytesPerSecond;
      }
      return result as never;
    } catch (error) {
      outcome = "failed";
      call.error = `${(error as Error).name}: ${(error as Error).message}`;
      throw lambdaError(error);
    } finally {
      duration = Math.round(duration);
      const endAt = startAt + duration;
      if (state === "Restore database") dbStartedAt = endAt;
      if (state === "Restore application") {
        appStartedAt = endAt;
        const backup = (event as { plan?: { application?: { backup?: { name?: string } } } }).plan
          ?.application?.backup?.name;
        appItems = backup ? (options.backupItems?.(backup) ?? 0) : 0;
      }
      if (b === undefined) main = endAt;
      else {
        const clock = branches.get(b);
        if (clock) {
          if (lane !== undefined && clock.lanes) {
            clock.lanes[lane] = endAt;
            clock.time = Math.max(clock.time, ...clock.lanes);
          } else clock.time = endAt;
        }
      }
      const step: RehearsalStep = {
        name: state,
        ...(branchLabel(info?.branchStart) ? { branch: branchLabel(info?.branchStart) as string } : {}),
        startSeconds: startAt,
        endSeconds: endAt,
        outcome,
      };
      steps.push(step);
      options.onStep?.(step, new Date(start.getTime() + endAt * 1000));
    }
  };

  const handlers = Object.fromEntries(
    [...states].filter(([, s]) => s.type === "Task").map(([name]) => [name, bind(name)]),
  );
  const region = options.region;
  const timeoutMs = options.timeoutMs ?? 60_000;
  // Released however the run ends, also when the definition fails validation before anything ran.
  const bound = options.tasks(now);
  const tasks = bound.tasks;
  let run: LocalExecution;
  try {
    run = await runLocalExecution(definition, input, {
      handlers,
      region,
      stage: world.stage,
      name: options.name,
      startTime: start.toISOString(),
      timeoutMs,
    });
  } finally {
    bound.release();
  }
  if (run.status === "TIMEOUT")
    throw new Error(`the restore did not end within ${timeoutMs} ms of real time`);
  const status: RestoreRun["status"] = run.status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
  const { output, events } = run;
  const failed = events.find((e) => e.type === "ExecutionFailed");
  const totalSeconds = Math.max(
    main,
    ...[...branches.values()].map((x) => x.time),
    ...steps.map((s) => s.endSeconds),
  );
  const branchSpans = new Map<string, number>();
  for (const s of steps) {
    if (!s.branch) continue;
    branchSpans.set(s.branch, Math.max(branchSpans.get(s.branch) ?? 0, s.endSeconds));
  }
  const branchStarts = new Map<string, number>();
  for (const s of steps) {
    if (!s.branch) continue;
    branchStarts.set(
      s.branch,
      Math.min(branchStarts.get(s.branch) ?? Number.POSITIVE_INFINITY, s.startSeconds),
    );
  }
  const slowest = Math.max(0, ...[...branchSpans].map(([b, end]) => end - (branchStarts.get(b) ?? end)));
  return {
    status,
    ...(output !== undefined ? { output } : {}),
    ...(failed
      ? { error: failed.Error ?? "", cause: String(failed.Cause ?? "") }
      : run.error
        ? { error: run.error.name, cause: run.error.message }
        : {}),
    steps,
    totalSeconds,
    overheadSeconds: totalSeconds - slowest,
    calls,
  };
}
