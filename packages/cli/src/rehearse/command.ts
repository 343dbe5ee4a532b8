import { writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { projectRoot } from "@gitpod-dr/sim/project-root";
import { installIsolation } from "@gitpod-dr/sim/rehearse/guard";
import { renderReportHtml } from "@gitpod-dr/sim/rehearse/html";
import type {
  RehearsalEvent,
  RehearsalOptions,
  RehearsalReport,
  RehearsalResult,
} from "@gitpod-dr/sim/rehearse/types";
import { EXIT_FAILED, EXIT_OK, type Io } from "../command.ts";
import { parseRehearseFlags } from "./flags.ts";
import { formatEvent, formatProgress, formatSummary } from "./format.ts";
import { holdKept, untilInterrupted } from "./keep.ts";

/**
 * `gitpod-dr rehearse`: backup → disaster → restore on the simulated account, on a virtual clock. Prints
 * one line per event as it happens (on a terminal, a progress line under them), then the summary, or
 * with `--json` the report as one JSON document on stdout (the events then go to stderr). Exit 0 when
 * the verdict is passed, 1 when failed; bad flags exit 2 before anything starts.
 */

export interface RehearseDeps {
  /** The engine (default: `@gitpod-dr/sim/rehearse/run`, imported once the flags are good). */
  readonly runRehearsal?: (options: RehearsalOptions) => Promise<RehearsalResult>;
  /** Resolves when the user stops `--keep` (default: Ctrl-C or SIGTERM). */
  readonly untilInterrupted?: () => Promise<void>;
}

/** The engine, imported only after the flags are checked: see the figure at the import. */
async function loadEngine(): Promise<NonNullable<RehearseDeps["runRehearsal"]>> {
  // The engine brings the whole simulated account (the CDK and SST for the synthesis,
  // aws-local-stepfunctions, the Kubernetes and AWS fakes). Measured from the prebuilt bin: importing its
  // chunk takes 3.8 s of CPU (18-22 s of wall time on the shared, loaded 2-core machine:
  // `time node -e "await import('./packages/cli/dist/run-….js')"`), where `rehearse --days 0` says no in
  // 0.44 s. So bad flags are refused before it loads.
  return (await import("@gitpod-dr/sim/rehearse/run")).runRehearsal;
}

/**
 * The example stage, `config/example.ts` of the project this CLI belongs to (the prebuilt bin runs from
 * packages/cli/dist, tsx from packages/cli/src), shown relative to the working directory when below it.
 */
export function exampleConfig(): string {
  const file = join(projectRoot(dirname(fileURLToPath(import.meta.url))), "config", "example.ts");
  const shown = relative(process.cwd(), file);
  return shown.startsWith("..") || isAbsolute(shown) ? file : shown;
}

/** Event lines, with a progress line kept under them on a terminal. */
class LiveOutput {
  private fraction = 0;
  constructor(
    private readonly line: (text: string) => void,
    private readonly progress: ((text: string) => void) | undefined,
  ) {}

  readonly onEvent = (event: RehearsalEvent): void => {
    if (event.progress !== undefined) this.fraction = event.progress;
    this.progress?.("");
    this.line(formatEvent(event));
    this.progress?.(formatProgress(event, this.fraction));
  };

  done(): void {
    this.progress?.("");
  }
}

async function writeReport(path: string, report: RehearsalReport, say: (text: string) => void) {
  await writeFile(path, renderReportHtml(report), "utf8");
  say(`HTML report written to ${path}`);
}

/** `gitpod-dr rehearse [--config FILE] [--scenario NAME] [--days N] [--report FILE.html] [--json] [--keep]`. */
export async function rehearseCommand(args: string[], io: Io, deps: RehearseDeps = {}): Promise<number> {
  const flags = parseRehearseFlags(args);
  const run = deps.runRehearsal ?? (await loadEngine());
  // With --json, stdout carries the report alone: everything else goes to stderr.
  const say = flags.json ? io.err : io.out;
  const live = new LiveOutput(say, io.progress);
  // A refused destination fails the client that tried it; say so too, in case that client swallows it.
  const release = installIsolation({
    onEvent: (e) => {
      if (!e.allowed) io.err(`warning: refused ${e.destination}: the rehearsal reaches only 127.0.0.1`);
    },
  });
  let result: RehearsalResult;
  try {
    try {
      result = await run({
        configPath: flags.configPath ?? exampleConfig(),
        scenario: flags.scenario,
        days: flags.days,
        keep: flags.keep,
        onEvent: live.onEvent,
      });
    } finally {
      live.done();
    }
    const { report } = result;
    io.out(flags.json ? JSON.stringify(report, null, 2) : formatSummary(report));
    if (flags.report) await writeReport(flags.report, report, say);
    if (result.kept) await holdKept(result.kept, say, deps.untilInterrupted ?? untilInterrupted);
    else if (flags.keep) io.err("warning: --keep: the engine left no simulated cluster running");
    return report.verdict === "passed" ? EXIT_OK : EXIT_FAILED;
  } finally {
    release();
  }
}
