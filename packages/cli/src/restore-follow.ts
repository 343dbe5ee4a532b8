import {
  DescribeExecutionCommand,
  type HistoryEvent,
  paginateGetExecutionHistory,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import type { Notification } from "@gitpod-dr/core/notify/failure";
import { planMessage, type SuccessState, successMessage } from "@gitpod-dr/core/restore/messages";
import { NOTIFIED_MARK } from "@gitpod-dr/core/restore/states";

export type Sfn = Pick<SFNClient, "send">;

/**
 * The message the execution published, rebuilt from its output with the same builders ("Notify plan" for
 * a dry run, "Notify success"): the state machine's output is the state those tasks were given. A
 * failure's message needs the inventory its task looked up, so for a failure the CLI shows the error and
 * the cause (the message's first lines), without the "[notified]" mark.
 */
export function resultMessage(outcome: ExecutionOutcome, stage: string): Notification | undefined {
  const output = outcome.output as Partial<SuccessState> | undefined;
  if (outcome.status === "SUCCEEDED" && output?.request && output.plan) {
    try {
      if (output.request.dryRun) return planMessage(output.request, output.plan, stage);
      if (output.tiers)
        return successMessage(
          output as SuccessState,
          stage,
          outcome.stopDate ? new Date(outcome.stopDate) : new Date(),
        );
    } catch {
      // An output of another shape (an older machine): the CLI prints it as JSON instead.
      return undefined;
    }
  }
  if (outcome.error) {
    const cause = (outcome.cause ?? "").replace(NOTIFIED_MARK, "").trim();
    return { subject: `restore ${outcome.status}: ${outcome.error}`, message: cause };
  }
  return undefined;
}

/** How an execution ended (or where it is), as the CLI reports it. */
export interface ExecutionOutcome {
  readonly executionArn: string;
  readonly status: string;
  readonly startDate?: string;
  readonly stopDate?: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** The states entered and left, in order (a state in a wait loop once per entry). */
  readonly states: readonly StateStep[];
}

export interface StateStep {
  readonly name: string;
  /** Seconds from the execution's start. */
  readonly enteredAt: number;
  readonly leftAt?: number;
  readonly error?: string;
}

const ENDED = new Set(["ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]);
const STATUS: Record<string, string> = {
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionTimedOut: "TIMED_OUT",
  ExecutionAborted: "ABORTED",
};
/** Failure events of a task (Lambda invoke through the optimized integration, or a direct function ARN). */
const TASK_FAILED = /^(Task|LambdaFunction)(Failed|TimedOut|StartFailed|SubmitFailed|ScheduleFailed)$/;

/** `+1:02:03`: elapsed time from the execution's start. */
export function elapsed(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `+${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

const parse = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * Reads an execution's history event by event (in order; each only once) and keeps what the CLI shows:
 * states entered and left with their times, task failures, and the execution's end.
 */
export class HistoryReader {
  #lastId = 0;
  #start: number | undefined;
  readonly states: StateStep[] = [];
  readonly #open = new Map<string, StateStep & { index: number }>();
  end: { status: string; output?: unknown; error?: string; cause?: string; at: Date } | undefined;

  constructor(
    private readonly executionArn: string,
    private readonly print: (line: string) => void,
  ) {}

  /** The whole history so far, paginated; returns once the new events are shown. */
  async read(sfn: Sfn): Promise<void> {
    for await (const page of paginateGetExecutionHistory(
      { client: sfn as SFNClient },
      { executionArn: this.executionArn, includeExecutionData: true, maxResults: 1000 },
    )) {
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= this.#lastId) continue;
        this.#lastId = event.id ?? this.#lastId;
        this.#event(event);
      }
    }
  }

  #at(event: HistoryEvent): number {
    const t = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
    this.#start ??= t;
    return (t - this.#start) / 1000;
  }

  #event(event: HistoryEvent): void {
    const type = event.type ?? "";
    const at = this.#at(event);
    if (type.endsWith("StateEntered") && event.stateEnteredEventDetails?.name) {
      const name = event.stateEnteredEventDetails.name;
      const step = { name, enteredAt: at, index: this.states.length };
      this.states.push({ name, enteredAt: at });
      this.#open.set(name, step);
      this.print(`${elapsed(at)}  → ${name}`);
    } else if (type.endsWith("StateExited") && event.stateExitedEventDetails?.name) {
      const name = event.stateExitedEventDetails.name;
      const open = this.#open.get(name);
      if (open) {
        this.states[open.index] = { ...this.states[open.index], name, enteredAt: open.enteredAt, leftAt: at };
        this.#open.delete(name);
      }
      this.print(`${elapsed(at)}  ← ${name}${open ? ` (${(at - open.enteredAt).toFixed(1)} s)` : ""}`);
    } else if (TASK_FAILED.test(type)) {
      const details = (event.taskFailedEventDetails ??
        event.lambdaFunctionFailedEventDetails ??
        event.taskTimedOutEventDetails ??
        {}) as { error?: string; cause?: string };
      const open = [...this.#open.values()].at(-1);
      const error = `${details.error ?? type}${details.cause ? `: ${causeMessage(details.cause)}` : ""}`;
      if (open) this.states[open.index] = { ...(this.states[open.index] as StateStep), error };
      this.print(`${elapsed(at)}  ✗ ${open?.name ?? "task"}: ${error}`);
    } else if (ENDED.has(type)) {
      const failed =
        event.executionFailedEventDetails ??
        event.executionTimedOutEventDetails ??
        event.executionAbortedEventDetails;
      this.end = {
        status: STATUS[type] as string,
        at: event.timestamp ? new Date(event.timestamp) : new Date(),
        ...(event.executionSucceededEventDetails?.output !== undefined
          ? { output: parse(event.executionSucceededEventDetails.output) }
          : {}),
        ...(failed?.error ? { error: failed.error } : {}),
        ...(failed?.cause ? { cause: failed.cause } : {}),
      };
      this.print(`${elapsed(at)}  execution ${this.end.status}`);
    }
  }
}

/** A Lambda error's cause is `{"errorType","errorMessage",…}`: its message is what a person reads. */
function causeMessage(cause: string): string {
  const parsed = parse(cause) as { errorMessage?: string } | string | undefined;
  return typeof parsed === "object" && parsed?.errorMessage ? parsed.errorMessage : String(cause);
}

/**
 * Follows an execution until it ends: each poll reads the history's new events and prints each state as
 * it enters and leaves it, with the time since the start.
 * @returns the outcome; `sleep` and `pollMs` are the test's to shorten.
 */
export async function followExecution(
  sfn: Sfn,
  executionArn: string,
  print: (line: string) => void,
  options: { readonly pollMs: number; readonly sleep?: (ms: number) => Promise<void> },
): Promise<ExecutionOutcome> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const reader = new HistoryReader(executionArn, print);
  for (;;) {
    await reader.read(sfn);
    if (reader.end) break;
    await sleep(options.pollMs);
  }
  return describeOutcome(sfn, executionArn, reader);
}

/** DescribeExecution's view, with the states read from the history. */
export async function describeOutcome(
  sfn: Sfn,
  executionArn: string,
  reader: HistoryReader,
): Promise<ExecutionOutcome> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const error = d.error ?? reader.end?.error;
  const cause = d.cause ?? reader.end?.cause;
  return {
    executionArn,
    status: d.status ?? reader.end?.status ?? "UNKNOWN",
    ...(d.startDate ? { startDate: new Date(d.startDate).toISOString() } : {}),
    ...(d.stopDate ? { stopDate: new Date(d.stopDate).toISOString() } : {}),
    ...(d.output !== undefined ? { output: parse(d.output) } : {}),
    ...(error ? { error } : {}),
    ...(cause ? { cause } : {}),
    states: reader.states,
  };
}
