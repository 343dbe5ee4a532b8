/**
 * The one way tests and the rehearsal run a restore-shaped state machine locally
 * (packages/sim/src/restore/local-run.ts): Task states answered by the given handlers, the restore's Wait
 * states and every retry interval zeroed, Step Functions' execution context, a bound in real time.
 */
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { runLocalExecution } from "../../../packages/sim/src/restore/local-run.ts";
import { WAITS } from "../../../packages/sim/src/restore/machine.ts";

const TASK = "arn:aws:lambda:eu-west-1:123456789012:function:gitpod-dr-t";
const WAIT = WAITS[0] as string;

/** Work (a Task retried once after an hour), then one of the restore's Waits (an hour), then Done. */
const definition = {
  StartAt: "Work",
  States: {
    Work: {
      Type: "Task",
      Resource: TASK,
      Parameters: { "execution.$": "$$.Execution.Name", "value.$": "$.value" },
      Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 3600, MaxAttempts: 1 }],
      Next: WAIT,
    },
    [WAIT]: { Type: "Wait", Seconds: 3600, Next: "Done" },
    Done: { Type: "Succeed" },
  },
} as unknown as StateMachineDefinition;

const options = { region: "eu-west-1", stage: "t", name: "run-1", startTime: "2026-12-03T00:00:00.000Z" };

describe("runLocalExecution", () => {
  it("answers Tasks with the handlers, in the execution's context, with retries and the restore's Waits zeroed", async () => {
    let attempts = 0;
    const started = Date.now();
    const run = await runLocalExecution(
      definition,
      { value: 41 },
      {
        ...options,
        timeoutMs: 10_000,
        handlers: {
          Work: async (event) => {
            attempts++;
            if (attempts === 1) throw new Error("first attempt fails");
            const e = event as { execution: string; value: number };
            return { value: e.value + 1, execution: e.execution };
          },
        },
      },
    );

    expect(run.status).toBe("SUCCEEDED");
    expect(run.output).toEqual({ value: 42, execution: "run-1" });
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(5_000);
    const entered = run.events.filter((e) => e.type === "StateEntered").map((e) => e.state?.name);
    expect(entered).toEqual(["Work", WAIT, "Done"]);
    expect(run.events.some((e) => e.type === "StateRetried")).toBe(true);
  });

  it("ends FAILED when a handler aborts the execution (a loop detected)", async () => {
    let abort: (() => void) | undefined;
    const run = await runLocalExecution(
      definition,
      { value: 1 },
      {
        ...options,
        timeoutMs: 10_000,
        onStart: (a) => {
          abort = a;
        },
        handlers: {
          Work: async () => {
            abort?.();
            throw new Error("looping");
          },
        },
      },
    );

    expect(run.status).toBe("FAILED");
    // No ExecutionFailed event says why an aborted run ended: the rejection does.
    expect(run.error?.name).toMatch(/Abort/);
  });

  it("ends TIMEOUT, aborted, when the execution is still running after timeoutMs", async () => {
    const run = await runLocalExecution(
      definition,
      { value: 1 },
      {
        ...options,
        timeoutMs: 300,
        handlers: { Work: () => new Promise(() => undefined) },
      },
    );

    expect(run.status).toBe("TIMEOUT");
    expect(run.output).toBeUndefined();
  });

  it("refuses a definition Step Functions would refuse, before anything runs", async () => {
    let ran = false;
    const broken = {
      StartAt: "Work",
      States: { Work: { Type: "Task", Resource: TASK, Next: "Nowhere" } },
    } as unknown as StateMachineDefinition;

    await expect(
      runLocalExecution(
        broken,
        {},
        {
          ...options,
          timeoutMs: 1_000,
          handlers: {
            Work: async () => {
              ran = true;
              return {};
            },
          },
        },
      ),
    ).rejects.toThrow();
    expect(ran).toBe(false);
  });
});
