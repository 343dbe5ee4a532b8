import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseStageConfig, type StageConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

export interface LoadStageOptions {
  /**
   * What an RPO target shorter than its schedule can deliver is: an error (default: synth and deploy,
   * which would deploy an alarm that fires with nothing broken), or a warning, the target then left to
   * its default (the operational commands: a restore started in a disaster must not be refused because a
   * newer gitpod-dr judges an RPO target of an older stage file differently).
   */
  readonly rpoTooShort?: "error" | "warn";
}

/** The issue text of an RPO target shorter than its schedule delivers (config/catalog.ts `rpoProblems`). */
const RPO_TOO_SHORT = /^rpo\.(database|objectStorage|images|application): .* is shorter than its schedule /;

/**
 * Loads and validates a stage file (`config/<stage>.ts`, default export) at synth time or in the CLI.
 * Stage files are TypeScript, loaded with tsx so they may import types and helpers from core.
 * @returns the stage, its configuration, and warnings (only with `rpoTooShort: "warn"`)
 * @throws ConfigError when the file is missing, has no default export, or is invalid.
 */
export async function loadStageConfigFile(
  path: string,
  options: LoadStageOptions = {},
): Promise<{ stage: string; config: StageConfig; warnings: string[] }> {
  const file = resolve(path);
  const stage = basename(file).replace(/\.(ts|mts|js|mjs|json)$/, "");
  if (!existsSync(file)) {
    throw new ConfigError(
      `No stage configuration at ${path}: create it (copy config/example.ts, which documents every field)`,
    );
  }
  let module: { default?: unknown };
  try {
    module = await importStageFile(file);
  } catch (cause) {
    throw new ConfigError(`Unable to load ${path}: ${(cause as Error).message}`);
  }
  // tsx may wrap a default export once more when the importer is CommonJS.
  const raw = (module.default as { default?: unknown } | undefined)?.default ?? module.default;
  if (raw === undefined) throw new ConfigError(`${path} has no default export`);
  try {
    return { stage, config: parseStageConfig(raw, path), warnings: [] };
  } catch (error) {
    const issues = error instanceof ConfigError ? (error.issues ?? []) : [];
    const rpoOnly = issues.length > 0 && issues.every((issue) => RPO_TOO_SHORT.test(issue));
    if (options.rpoTooShort !== "warn" || !rpoOnly) throw error;
    const tiers = issues.map((issue) => RPO_TOO_SHORT.exec(issue)?.[1] as string);
    const { rpo = {}, ...rest } = raw as { rpo?: Record<string, unknown> };
    const kept = Object.fromEntries(Object.entries(rpo).filter(([tier]) => !tiers.includes(tier)));
    const warnings = issues.map(
      (issue) => `${path}: ${issue} (the default target is used here; synth and deploy refuse it)`,
    );
    return { stage, config: parseStageConfig({ ...rest, rpo: kept }, path), warnings };
  }
}

// Node's own answers for TypeScript it does not run itself (syntax that is not erasable, imports
// without extensions, files under node_modules): tsx runs those.
const NOT_FOR_NODE =
  /^ERR_(UNSUPPORTED_TYPESCRIPT_SYNTAX|INVALID_TYPESCRIPT_SYNTAX|UNKNOWN_FILE_EXTENSION|UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING|MODULE_NOT_FOUND|UNSUPPORTED_DIR_IMPORT)$/;

/**
 * Imports a stage file: with Node's own type stripping where it runs (Node ≥ 22.18; ~0.05 s), else
 * through tsx (~0.4 s more: the CLI's `sync-images` start-up, measured by `npm run bench:copy`).
 */
export async function importStageFile(file: string): Promise<{ default?: unknown }> {
  const url = pathToFileURL(file).href;
  if ((process.features as { typescript?: unknown }).typescript || !/\.(ts|mts)$/.test(file)) {
    try {
      return (await import(url)) as { default?: unknown };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (!(typeof code === "string" && NOT_FOR_NODE.test(code)) && !(error instanceof SyntaxError))
        throw error;
    }
  }
  // Lazy: tsx (and the esbuild it starts) only for a stage file Node cannot run itself: 0.2 s to load.
  const { tsImport } = await import("tsx/esm/api");
  return (await tsImport(url, import.meta.url)) as { default?: unknown };
}

/** The stage file for a stage name, relative to the project root. */
export function stageConfigPath(root: string, stage: string): string {
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw new ConfigError(`Stage name "${stage}" may contain only letters, digits and hyphens`);
  }
  return resolve(root, "config", `${stage}.ts`);
}
