import { ConfigError, GitpodDrError, InvalidInputError } from "@gitpod-dr/core/errors";
import { REDACT_MAX_INPUT } from "@gitpod-dr/core/notify/redact";
import { redactKnown } from "@gitpod-dr/core/notify/secrets";
import { InvalidReferenceError } from "@gitpod-dr/core/registry/errors";
import cliPackage from "../package.json" with { type: "json" };
import {
  type CommandSpec,
  commandHelp,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  globalHelp,
  type Io,
  UsageError,
} from "./command.ts";
import { copyImage } from "./commands/copy-image.ts";
import { deploy } from "./commands/deploy.ts";
import { rdsSnapshot } from "./commands/rds-snapshot.ts";
import { rehearse } from "./commands/rehearse.ts";
import { restore } from "./commands/restore.ts";
import { s3Check } from "./commands/s3-check.ts";
import { status } from "./commands/status.ts";
import { syncImages } from "./commands/sync-images.ts";
import { synth } from "./commands/synth.ts";
import { veleroBackup } from "./commands/velero-backup.ts";
import { veleroStatus } from "./commands/velero-status.ts";
import { AwsCredentialsError } from "./errors.ts";
import { tlsHint } from "./format.ts";

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io } from "./command.ts";

/** Every command, one line each: its module declares its help and loads its code when it runs. */
export const COMMANDS: readonly CommandSpec[] = [
  rdsSnapshot,
  copyImage,
  syncImages,
  veleroBackup,
  veleroStatus,
  s3Check,
  status,
  restore,
  synth,
  deploy,
  rehearse,
];

const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  ...(process.stderr.isTTY ? { progress: (text: string) => process.stderr.write(`\r\u001b[K${text}`) } : {}),
};

/**
 * `io` with every line redacted before it is written: errors, warnings, progress and reports (a failed
 * copy's report and a job's summary quote registry and AWS errors). Redaction removes the secrets this
 * process read (docker login, Secrets Manager, tokens) and every credential shape it knows, such as the
 * password of a `https://user:password@host` typed on the command line.
 */
export function redactingIo(io: Io, secrets: readonly string[] = []): Io {
  return {
    out: (text) => io.out(redactOutput(text, secrets)),
    err: (text) => io.err(redactOutput(text, secrets)),
    ...(io.progress ? { progress: (text: string) => io.progress?.(redactKnown(text, secrets)) } : {}),
  };
}

/** Output is redacted in pieces of whole lines up to this long (half the redaction bound). */
const OUTPUT_PIECE = REDACT_MAX_INPUT / 2;

/**
 * Redacts a whole output, however long: redaction cuts its input at {@link REDACT_MAX_INPUT}, which would
 * cut a long report (`rehearse --json` of a scenario with many messages) in the middle of its JSON. A long
 * text is redacted in pieces of whole lines, never ending inside a PEM block, so every credential shape
 * is still seen whole (a secret or a key/value is on one line, a private key one PEM block). A single
 * line longer than the bound is cut by redaction, as any text that long is.
 */
export function redactOutput(text: string, secrets: readonly string[]): string {
  if (text.length <= REDACT_MAX_INPUT) return redactKnown(text, secrets);
  const pieces: string[] = [];
  let piece = "";
  let inPem = false;
  for (const line of text.split(/(?<=\n)/)) {
    if (piece && !inPem && piece.length + line.length > OUTPUT_PIECE) {
      pieces.push(redactKnown(piece, secrets));
      piece = "";
    }
    piece += line;
    if (line.includes("-----BEGIN")) inPem = true;
    if (line.includes("-----END")) inPem = false;
  }
  if (piece) pieces.push(redactKnown(piece, secrets));
  return pieces.join("");
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

/** The flags before `--` (after it, everything is a positional argument). */
const flags = (args: readonly string[]) => {
  const end = args.indexOf("--");
  return end < 0 ? args : args.slice(0, end);
};

/** node:util parseArgs' messages, in ours: the flag quoted once, and where to look. */
function usageMessage(err: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']*)'/.exec(err.message);
  if (unknown) return `unknown option "${unknown[1]}"`;
  const positional = /^Unexpected argument '([^']*)'/.exec(err.message);
  if (positional) return `unexpected argument "${positional[1]}"`;
  return err.message.replace(/\.$/, "");
}

interface Outcome {
  code: number;
  error?: { name: string; message: string };
}

/**
 * Errors that mean nothing was done because of what was given (exit 2), by name: names are an API, and a
 * command's module may reach the error classes through another module instance than this file (a stage
 * file loaded by Node itself, a test runner), where `instanceof` would say no.
 */
const USAGE_ERRORS: ReadonlySet<string> = new Set([
  new ConfigError("").name,
  new InvalidInputError("", []).name,
  new InvalidReferenceError("", "", "reference").name,
  new AwsCredentialsError("").name,
]);

/** Runs one command and classifies what it threw: usage and configuration (2), failures (1). */
async function runCommand(spec: CommandSpec, args: string[], io: Io): Promise<Outcome> {
  try {
    const run = await spec.load();
    return { code: await run(args, io) };
  } catch (error) {
    const err = error as Error & { code?: string };
    // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed flags.
    if (
      error instanceof UsageError ||
      (typeof err.code === "string" && err.code.startsWith("ERR_PARSE_ARGS"))
    ) {
      const message = `${usageMessage(err)}. See gitpod-dr ${spec.name} --help`;
      io.err(`gitpod-dr ${spec.name}: ${message}`);
      return { code: EXIT_USAGE, error: { name: "UsageError", message } };
    }
    if (error instanceof Error && USAGE_ERRORS.has(error.name)) {
      io.err(`gitpod-dr ${spec.name}: ${error.message}`);
      return { code: EXIT_USAGE, error: { name: error.name, message: error.message } };
    }
    const name = error instanceof GitpodDrError ? error.name : err.name;
    const message = err.message ?? String(error);
    io.err(`gitpod-dr ${spec.name} failed: ${name}: ${message}`);
    const hint = tlsHint(message, []);
    if (hint) io.err(hint);
    return { code: EXIT_FAILED, error: { name, message } };
  }
}

/**
 * With `--json`, what the command printed (its one JSON document) is held back, and printed at the end
 * with the error added when it failed, or an error document alone when it printed none: one JSON
 * document on stdout in every outcome.
 */
async function runJson(spec: CommandSpec, args: string[], io: Io): Promise<number> {
  const printed: string[] = [];
  const outcome = await runCommand(spec, args, { ...io, out: (text) => printed.push(text) });
  let document: unknown;
  try {
    document = printed.length > 0 ? JSON.parse(printed.join("\n")) : undefined;
  } catch {
    document = undefined;
  }
  if (!outcome.error && document !== undefined) {
    io.out(printed.join("\n"));
  } else {
    const base =
      document !== null && typeof document === "object" && !Array.isArray(document) ? document : {};
    io.out(
      JSON.stringify(
        { ...base, ...(outcome.error ? { error: outcome.error } : {}), exitCode: outcome.code },
        null,
        2,
      ),
    );
  }
  return outcome.code;
}

/**
 * Runs the CLI. Everything it prints goes through {@link redactingIo}.
 * @returns the process exit code: 0 done, 1 the job failed, 2 bad usage, configuration or credentials.
 */
export async function main(argv: string[], rawIo: Io = processIo): Promise<number> {
  const io = redactingIo(rawIo, typedPasswords(argv));
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    const named = command === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(named ? commandHelp(named) : globalHelp(COMMANDS));
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === "--version" || command === "-V") {
    io.out(`gitpod-dr ${cliPackage.version} (Node.js ${process.versions.node})`);
    return EXIT_OK;
  }
  const spec = COMMANDS.find((c) => c.name === command);
  if (!spec) {
    const what = command.startsWith("-") ? `unknown option "${command}"` : `unknown command "${command}"`;
    io.err(`gitpod-dr: ${what}. Commands: ${COMMANDS.map((c) => c.name).join(", ")}. See gitpod-dr --help`);
    return EXIT_USAGE;
  }
  const given = flags(rest);
  if (given.includes("--help") || given.includes("-h")) {
    io.out(commandHelp(spec));
    return EXIT_OK;
  }
  return given.includes("--json") ? runJson(spec, rest, io) : (await runCommand(spec, rest, io)).code;
}
