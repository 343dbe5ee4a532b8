import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import { parseStageConfig, type StageConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

/**
 * Loads and validates a stage file (`config/<stage>.ts`, default export) at synth time or in the CLI.
 * Stage files are TypeScript, loaded with tsx so they may import types and helpers from core.
 * @throws ConfigError when the file is missing, has no default export, or is invalid.
 */
export async function loadStageConfigFile(path: string): Promise<{ stage: string; config: StageConfig }> {
  const file = resolve(path);
  const stage = basename(file).replace(/\.(ts|mts|js|mjs|json)$/, "");
  if (!existsSync(file)) {
    throw new ConfigError(
      `No stage configuration at ${path}: create it (copy config/example.ts, which documents every field)`,
    );
  }
  let module: { default?: unknown };
  try {
    module = await tsImport(pathToFileURL(file).href, import.meta.url);
  } catch (cause) {
    throw new ConfigError(`Unable to load ${path}: ${(cause as Error).message}`);
  }
  // tsx may wrap a default export once more when the importer is CommonJS.
  const raw = (module.default as { default?: unknown } | undefined)?.default ?? module.default;
  if (raw === undefined) throw new ConfigError(`${path} has no default export`);
  return { stage, config: parseStageConfig(raw, path) };
}

/** The stage file for a stage name, relative to the project root. */
export function stageConfigPath(root: string, stage: string): string {
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw new ConfigError(`Stage name "${stage}" may contain only letters, digits and hyphens`);
  }
  return resolve(root, "config", `${stage}.ts`);
}
