import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { rdsJobConfig } from "@gitpod-dr/core/config/rds";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { ConfigError, GitpodDrError, InvalidInputError } from "@gitpod-dr/core/errors";
import type { JobLogger } from "@gitpod-dr/core/logger";
import { redactKnown } from "@gitpod-dr/core/notify/secrets";
import { rdsJobClients } from "@gitpod-dr/core/rds/clients";
import { SnapshotJobIncompleteError } from "@gitpod-dr/core/rds/errors";
import { parseRdsJobEvent } from "@gitpod-dr/core/rds/input";
import { type RdsJobSummary, runRdsSnapshotJob } from "@gitpod-dr/core/rds/job";
import { InvalidReferenceError } from "@gitpod-dr/core/registry/errors";
import { formatRdsSummary } from "./format.ts";
import { copyImageCommand, syncImagesCommand } from "./images.ts";
import { parseJobFlags } from "./stage.ts";
import { statusCommand } from "./status.ts";
import { s3CheckCommand } from "./storage.ts";
import { veleroBackupCommand, veleroStatusCommand } from "./velero.ts";

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rewrites one status line in place; only on a terminal. */
  progress?: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  ...(process.stderr.isTTY ? { progress: (text: string) => process.stderr.write(`\r\u001b[K${text}`) } : {}),
};

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const HELP = `gitpod-dr: backup and disaster recovery for a self-hosted Gitpod on AWS

Usage: gitpod-dr <command> [options]

Commands:
  rds-snapshot   Take this window's RDS snapshot, copy snapshots to the DR region, apply retention
                 (the scheduled job, run from here with the AWS credentials in the environment)

  copy-image SRC DST
                 Copy one image (an index with all its platforms) between registries, every digest
                 unchanged. ECR uses your AWS credentials; other registries your docker login
                 (~/.docker/config.json "auths"), or anonymous access
  sync-images    Run the image sync job of a stage (its "images" rules) from here

  velero-backup  Create this window's Velero backup on the EKS cluster and check the previous one
                 (the scheduled job, run from here with the AWS credentials in the environment)
  velero-status  The newest Velero backups made by gitpod-dr, with phase and age

  s3-check       Check S3 replication of the stage's buckets (audit, canaries, metrics, sample) and
                 print the findings as a table

Options of s3-check:
  --config FILE  the stage configuration (required; its "storage" section)
  --dry-run      report findings; write no canary, start no repair job
  --json         print the summary as JSON (exit 1 when a finding is a failure)

Options of velero-backup:
  --config FILE  the stage configuration (required; its "application" section)
  --dry-run      run the preflight checks and report; create nothing
  --time ISO     the schedule window (default: now); names the backup
  --json         print the summary as JSON

Options of velero-status:
  --config FILE, --json   as above (exit 1 when a listed backup failed)

Options of copy-image:
  --platform OS/ARCH[/VARIANT]   copy only this platform of an index (repeatable)
  --insecure-registry HOST:PORT  speak plain HTTP to this registry (repeatable; local registries)
  --concurrency N                blob transfers at once (default 6)
  --force                        copy even when the destination already has the source's digest
  --json                         print the report as JSON

Options of sync-images:
  --config FILE  the stage configuration (required)
  --dry-run      list what would be copied; write nothing
  --insecure-registry HOST:PORT, --json  as above

Options of rds-snapshot:
  --config FILE  the stage configuration, e.g. config/prod.ts (required)
  --dry-run      report what would be created, copied and deleted; change nothing
  --time ISO     the schedule window to run for (default: now), e.g. 2026-11-26T03:00:00Z
  --json         print the summary as JSON

Global options:
  -h, --help     show this help

Exit codes: 0 done, 1 the job failed (the summary says what it did), 2 bad usage or configuration.`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A logger for a terminal: warnings to stderr, info only with --json off and nothing secret in it. */
function terminalLogger(io: Io): JobLogger {
  return {
    info: () => undefined,
    warn: (message) => io.err(`warning: ${message}`),
  };
}

async function rdsSnapshot(args: string[], io: Io): Promise<number> {
  const values = parseJobFlags(args, {
    time: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    io.out(HELP);
    return EXIT_OK;
  }
  if (!values.config)
    throw new UsageError("rds-snapshot needs --config FILE (for example --config config/prod.ts)");
  const { stage, config } = await loadStageConfigFile(values.config);
  const input = parseRdsJobEvent(
    { dryRun: values["dry-run"], ...(values.time === undefined ? {} : { time: values.time }) },
    new Date(),
  );
  const jobConfig = rdsJobConfig(stage, config);
  const print = (summary: RdsJobSummary) =>
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatRdsSummary(summary));
  try {
    const summary = await runRdsSnapshotJob(input, jobConfig, {
      ...rdsJobClients(jobConfig, new ClientCache()),
      logger: terminalLogger(io),
    });
    print(summary);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof SnapshotJobIncompleteError && error.summary) print(error.summary as RdsJobSummary);
    throw error;
  }
}

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  "rds-snapshot": rdsSnapshot,
  "copy-image": copyImageCommand,
  "sync-images": syncImagesCommand,
  "velero-backup": (args, io) => veleroBackupCommand(args, io),
  "velero-status": (args, io) => veleroStatusCommand(args, io),
  "s3-check": (args, io) => s3CheckCommand(args, io),
  status: (args, io) => statusCommand(args, io),
};

/**
 * `io` with every line redacted before it is written: errors, warnings, progress and reports (a failed
 * copy's report and a job's summary quote registry and AWS errors). Redaction removes the secrets this
 * process read (docker login, Secrets Manager, tokens) and every credential shape it knows, such as the
 * password of a `https://user:password@host` typed on the command line.
 */
export function redactingIo(io: Io, secrets: readonly string[] = []): Io {
  return {
    out: (text) => io.out(redactKnown(text, secrets)),
    err: (text) => io.err(redactKnown(text, secrets)),
    ...(io.progress ? { progress: (text: string) => io.progress?.(redactKnown(text, secrets)) } : {}),
  };
}

/**
 * Passwords typed on the command line as `user:password@host` (with or without a scheme, the password
 * up to the last `@` before the host; not a `repo:tag@sha256:…` reference): the CLI knows them, so every
 * message that quotes the argument back (an invalid reference, an invalid registry host) loses them.
 */
export function typedPasswords(argv: readonly string[]): string[] {
  const found: string[] = [];
  for (const arg of argv) {
    for (const m of arg.matchAll(/([^\s/@:=]+):([^\s/]+)@(?!sha(?:256|512):)[^\s/@]+/g))
      found.push(m[2] as string);
  }
  return found;
}

/**
 * Runs the CLI. Everything it prints goes through {@link redactingIo}.
 * @returns the process exit code: 0 done, 1 the job failed, 2 bad usage or configuration.
 */
export async function main(argv: string[], rawIo: Io = processIo): Promise<number> {
  const io = redactingIo(rawIo, typedPasswords(argv));
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    io.out(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(
      `gitpod-dr: unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(", ")}. See gitpod-dr --help`,
    );
    return EXIT_USAGE;
  }
  try {
    return await run(rest, io);
  } catch (error) {
    const err = error as Error & { code?: string };
    // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed flags.
    if (error instanceof UsageError || err.code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`gitpod-dr ${command}: ${err.message}. See gitpod-dr --help`);
      return EXIT_USAGE;
    }
    if (
      error instanceof ConfigError ||
      error instanceof InvalidInputError ||
      error instanceof InvalidReferenceError
    ) {
      io.err(`gitpod-dr ${command}: ${error.message}`);
      return EXIT_USAGE;
    }
    const name = error instanceof GitpodDrError ? error.name : err.name;
    io.err(`gitpod-dr ${command} failed: ${name}: ${err.message ?? String(error)}`);
    return EXIT_FAILED;
  }
}
