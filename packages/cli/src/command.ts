/**
 * What a CLI command is: one module under `commands/` declares its name, its help (usage, options, an
 * example, exit codes) and how to load its run function. `main.ts` lists the modules; the run function's
 * own module (and everything it imports: the AWS SDK, the Kubernetes client, tsx for stage files) is
 * imported only when that command runs.
 */

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rewrites one status line in place; only on a terminal. */
  progress?: (text: string) => void;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs a command with its arguments (the command name taken off); returns the exit code. */
export type RunCommand = (args: string[], io: Io) => Promise<number>;

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list of `gitpod-dr --help`. */
  readonly summary: string;
  /** The synopsis after `gitpod-dr`, e.g. `copy-image SRC DST [options]`. */
  readonly usage: string;
  /** A few sentences for `gitpod-dr NAME --help`. */
  readonly description?: string;
  /** `[flag, what it does]`; `-h, --help` is added to every command. */
  readonly options: readonly (readonly [string, string])[];
  readonly examples: readonly string[];
  /** `[code, meaning]`; 2 (bad usage or configuration) is added when missing. */
  readonly exitCodes: readonly (readonly [number, string])[];
  /** Imports the command's module and returns its run function. */
  readonly load: () => Promise<RunCommand>;
}

/** Bad usage: an unknown flag, a missing argument (exit 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const table = (rows: readonly (readonly [string, string])[], indent = "  ") => {
  const width = Math.min(32, Math.max(...rows.map(([a]) => a.length)));
  return rows
    .map(([a, b]) =>
      a.length > width
        ? `${indent}${a}\n${indent}${" ".repeat(width + 2)}${b}`
        : `${indent}${a.padEnd(width)}  ${b}`,
    )
    .join("\n");
};

/** What `gitpod-dr NAME --help` prints: a command without its code. */
export type CommandHelp = Omit<CommandSpec, "load">;

/** `gitpod-dr NAME --help`. */
export function commandHelp(spec: CommandHelp): string {
  const exitCodes: (readonly [number, string])[] = [...spec.exitCodes];
  if (!exitCodes.some(([code]) => code === EXIT_USAGE))
    exitCodes.push([EXIT_USAGE, "bad usage or configuration; nothing was done"]);
  return [
    `gitpod-dr ${spec.name}: ${spec.summary}`,
    "",
    `Usage: gitpod-dr ${spec.usage}`,
    ...(spec.description ? ["", spec.description] : []),
    "",
    "Options:",
    table([...spec.options, ["-h, --help", "show this help"]]),
    "",
    spec.examples.length > 1 ? "Examples:" : "Example:",
    ...spec.examples.map((e) => `  ${e}`),
    "",
    "Exit codes:",
    table(exitCodes.map(([code, meaning]) => [String(code), meaning] as const)),
  ].join("\n");
}

/** `gitpod-dr --help`. */
export function globalHelp(commands: readonly CommandSpec[]): string {
  return [
    "gitpod-dr: backup and disaster recovery for a self-hosted Gitpod on AWS",
    "",
    "Usage: gitpod-dr <command> [options]",
    "",
    "Commands:",
    table(commands.map((c) => [c.name, c.summary] as const)),
    "",
    "Options:",
    table([
      ["-h, --help", "show this help (gitpod-dr <command> --help: that command's)"],
      ["--version", "print the version"],
    ]),
    "",
    "Exit codes: 0 done, 1 the job failed (the summary says what it did), 2 bad usage, configuration or",
    "credentials (nothing was done). Run gitpod-dr <command> --help for a command's options.",
  ].join("\n");
}
