import {
  StateMachine as LocalStateMachine,
  type RunOptions,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import { ACCOUNT } from "../synth.ts";
import { allStates, type EventLog, WAITS } from "./machine.ts";

/** How one local execution ended: TIMEOUT when it was still running after `timeoutMs` (then aborted). */
export interface LocalExecution {
  readonly status: "SUCCEEDED" | "FAILED" | "TIMEOUT";
  readonly output?: unknown;
  /** Why the execution's result was rejected (FAILED): the cause to report when no ExecutionFailed event says it. */
  readonly error?: Error;
  readonly events: EventLog[];
}

/**
 * One execution of the restore state machine in aws-local-stepfunctions, as the tests' harness and the
 * rehearsal both run it: every Task state answered by `handlers[state]`, Wait states and retry intervals
 * zeroed (the callers keep their own clocks), the execution context Step Functions gives the machine,
 * and the definition validated as Step Functions does (paths and ARNs). Bounded by `timeoutMs` of real
 * time. `onStart` receives a function that aborts the execution (a handler that detects a loop).
 * @throws what the definition's validation throws (nothing has run then)
 */
export async function runLocalExecution(
  definition: StateMachineDefinition,
  input: unknown,
  options: {
    /** Per Task state, what answers it (the functions' handlers, as Lambda would run them). */
    readonly handlers: NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;
    readonly region: string;
    readonly stage: string;
    readonly name: string;
    readonly startTime: string;
    readonly timeoutMs: number;
    readonly onStart?: (abort: () => void) => void;
  },
): Promise<LocalExecution> {
  const retryables = [...allStates(definition)]
    .filter(([, type]) => type === "Task" || type === "Parallel" || type === "Map")
    .map(([state]) => [state, 0] as const);
  const machine = new LocalStateMachine(definition, {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  const exec = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: options.handlers,
      waitTimeOverrides: Object.fromEntries(WAITS.map((w) => [w, 0])),
      retryIntervalOverrides: Object.fromEntries(retryables),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:${options.region}:${ACCOUNT}:execution:gitpod-dr-${options.stage}-restore:${options.name}`,
        Name: options.name,
        Input: input as never,
        StartTime: options.startTime,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/gitpod-dr-${options.stage}-restore`,
      },
    },
  });
  options.onStart?.(() => exec.abort());
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const e of exec.eventLogs) events.push(e as EventLog);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
  });
  let status: LocalExecution["status"] = "FAILED";
  let output: unknown;
  let error: Error | undefined;
  try {
    const outcome = await Promise.race([exec.result.then((o) => ({ o })), timeout]);
    if (outcome === "timeout") {
      exec.abort();
      status = "TIMEOUT";
    } else {
      status = "SUCCEEDED";
      output = outcome.o;
    }
  } catch (rejected) {
    status = "FAILED";
    error = rejected instanceof Error ? rejected : new Error(String(rejected));
  } finally {
    clearTimeout(timer);
  }
  // The event log ends a moment after the result.
  await Promise.race([collecting.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  return { status, ...(output !== undefined ? { output } : {}), ...(error ? { error } : {}), events };
}
