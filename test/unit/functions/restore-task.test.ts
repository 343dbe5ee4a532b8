import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import { GitpodDrError } from "../../../packages/core/src/errors.ts";
import { KubeApiError } from "../../../packages/core/src/velero/errors.ts";
import { taskHandler } from "../../../packages/functions/src/lib/task.ts";
import { lambdaContextFor } from "../../../packages/sim/src/lambda.ts";

/** The restore state machine's task middleware: what error name and message reach Step Functions. */

class DatabaseRestoreFailed extends GitpodDrError {
  override readonly name = "DatabaseRestoreFailed";
}

function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ serviceName: "test", logLevel: "INFO" });
  // Powertools writes through console; capture what it would print.
  (logger as unknown as { console: Pick<Console, "info" | "error" | "warn" | "debug" | "log"> }).console = {
    info: (l: string) => lines.push(l),
    error: (l: string) => lines.push(l),
    warn: (l: string) => lines.push(l),
    debug: (l: string) => lines.push(l),
    log: (l: string) => lines.push(l),
  };
  return { logger, lines };
}

async function failure(run: () => Promise<unknown>): Promise<{ error: Error; lines: string[] }> {
  const { logger, lines } = captureLogs();
  const handler = taskHandler(logger, run);
  try {
    await handler({}, lambdaContextFor("restore-test"));
  } catch (error) {
    return { error: error as Error, lines };
  }
  throw new Error("the handler did not fail");
}

describe("taskHandler", () => {
  it("returns the step's result", async () => {
    const { logger } = captureLogs();
    const handler = taskHandler(logger, async () => ({ done: true }));
    expect(await handler({}, lambdaContextFor("restore-test"))).toEqual({ done: true });
  });

  it("keeps a permanent failure's own name: the state's Catch reports it as is", async () => {
    const { error } = await failure(async () => {
      throw new DatabaseRestoreFailed("The restored database x is incompatible-parameters");
    });
    expect(error.name).toBe("DatabaseRestoreFailed");
    expect(error.message).toBe("The restored database x is incompatible-parameters");
  });

  it("turns a retryable failure into Transient (the state's Retry), keeping the original name in the message", async () => {
    const { error } = await failure(async () => {
      throw new KubeApiError("List deployments in gitpod: 503 ServiceUnavailable", 503, "ServiceUnavailable");
    });
    expect(error.name).toBe("Transient");
    expect(error.message).toBe("KubeApiError: List deployments in gitpod: 503 ServiceUnavailable");
    expect((error as GitpodDrError).retryable).toBe(true);
  });

  it("scrubs credentials from the error and from the log line", async () => {
    const { error, lines } = await failure(async () => {
      throw new DatabaseRestoreFailed(
        "kotsadm refused Authorization: Kots 0123456789abcdef0123456789abcdef; sent Kots 0123456789abcdef0123456789abcdef; mysql://gitpod:hunter2@db:3306 password=hunter2",
      );
    });
    for (const text of [error.message, error.stack ?? "", ...lines]) {
      expect(text).not.toContain("0123456789abcdef0123456789abcdef");
      expect(text).not.toContain("hunter2");
    }
    expect(error.message).toContain("sent Kots [REDACTED]");
    expect(lines.some((l) => l.includes('"name":"DatabaseRestoreFailed"'))).toBe(true);
  });

  it("stops before the Lambda timeout as a retryable JobTimeout (Transient), aborting the step's signal", async () => {
    const { logger } = captureLogs();
    let aborted: AbortSignal | undefined;
    const handler = taskHandler(logger, (_event, _context, signal) => {
      aborted = signal;
      // A step that would run past the Lambda timeout (a copy that never ends).
      return new Promise<never>(() => undefined);
    });
    const error = await handler({}, lambdaContextFor("restore-test", { remainingMs: 10_050 })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("Transient");
    expect(error?.message).toBe("JobTimeout: The task stopped 10 s before the Lambda timeout");
    expect(aborted?.aborted).toBe(true);
  });
});
