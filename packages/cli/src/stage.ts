import type { StageConfig } from "@gitpod-dr/core/config";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { InvalidInputError } from "@gitpod-dr/core/errors";

type Section = "images" | "application" | "storage";

/**
 * Loads `--config FILE` for a command that needs one tier's section of it.
 * @throws InvalidInputError when the flag is missing or the stage has no such section (exit code 2).
 */
export async function loadStageSection<S extends Section>(
  file: string | undefined,
  command: string,
  section: S,
  without: string,
): Promise<{ stage: string; config: StageConfig; section: NonNullable<StageConfig[S]> }> {
  if (!file)
    throw new InvalidInputError(`${command} needs --config FILE (for example --config config/prod.ts)`);
  const { stage, config } = await loadStageConfigFile(file);
  const value = config[section];
  if (!value) throw new InvalidInputError(`${file} has no "${section}" section: ${without}`);
  return { stage, config, section: value as NonNullable<StageConfig[S]> };
}
