import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { regionWarning } from "@gitpod-dr/core/config/patterns";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import type { Io } from "./command.ts";
import { cacheStrippedStage } from "./stage-cache.ts";

type Section = "images" | "application" | "storage" | "restore";

/**
 * Where stripped stage files are kept (stage-cache.ts): the project's `node_modules/.cache`, three
 * levels above this module both as source (packages/cli/src) and as built (packages/cli/dist);
 * GITPOD_DR_CACHE_DIR moves it.
 */
export function stageCacheDir(): string {
  const dir = process.env.GITPOD_DR_CACHE_DIR;
  return dir
    ? join(resolve(dir), "stages")
    : fileURLToPath(new URL("../../../node_modules/.cache/gitpod-dr/stages/", import.meta.url));
}

/**
 * Loads `--config FILE`, and warns on stderr about a region AWS's partition data does not list yet (a
 * misspelled one fails validation).
 * @throws InvalidInputError when the flag is missing; ConfigError when the file is missing or invalid.
 */
export async function loadStage(
  file: string | undefined,
  command: string,
  io: Io,
): Promise<{ stage: string; config: StageConfig }> {
  if (!file)
    throw new InvalidInputError(`${command} needs --config FILE (for example --config config/prod.ts)`);
  cacheStrippedStage(resolve(file), stageCacheDir());
  // An RPO target this version judges too short is a warning here: never a reason to refuse a restore.
  const loaded = await loadStageConfigFile(file, { rpoTooShort: "warn" });
  for (const warning of loaded.warnings) io.err(`warning: ${warning}`);
  for (const [field, region] of Object.entries(loaded.config.regions)) {
    const warning = regionWarning(region);
    if (warning) io.err(`warning: ${file}: regions.${field}: ${warning}`);
  }
  return loaded;
}

/**
 * Loads `--config FILE` for a command that needs one tier's section of it.
 * @throws InvalidInputError when the flag is missing or the stage has no such section (exit code 2).
 */
export async function loadStageSection<S extends Section>(
  file: string | undefined,
  command: string,
  section: S,
  without: string,
  io: Io,
): Promise<{ stage: string; config: StageConfig; section: NonNullable<StageConfig[S]> }> {
  const { stage, config } = await loadStage(file, command, io);
  const value = config[section];
  if (!value) throw new InvalidInputError(`${file} has no "${section}" section: ${without}`);
  return { stage, config, section: value as NonNullable<StageConfig[S]> };
}

/** The flags of every command that runs a stage's job from here. */
const JOB_FLAGS = {
  config: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const satisfies ParseArgsOptionsConfig;

/**
 * Parses the flags of a command that runs a stage's job: `--config FILE`, `--dry-run`, `--json`, and
 * the command's own.
 * @throws TypeError (ERR_PARSE_ARGS_*) for an unknown or malformed flag, or a positional argument.
 */
export function parseJobFlags<const O extends ParseArgsOptionsConfig>(args: string[], own: O) {
  return parseArgs({ args, strict: true, allowPositionals: false, options: { ...JOB_FLAGS, ...own } }).values;
}
