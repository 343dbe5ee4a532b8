import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS, type ScenarioName } from "@gitpod-dr/sim/rehearse/types";
import { UsageError } from "../command.ts";

/** What `gitpod-dr rehearse` was asked to do, checked. */
export interface RehearseFlags {
  readonly configPath?: string;
  readonly scenario: ScenarioName;
  readonly days: number;
  /** Where to write the HTML report (absolute). */
  readonly report?: string;
  readonly json: boolean;
  readonly keep: boolean;
}

export const DEFAULT_SCENARIO: ScenarioName = "region-loss";
export const DEFAULT_DAYS = 3;
export const MAX_DAYS = 30;

const isScenario = (name: string): name is ScenarioName => (SCENARIOS as readonly string[]).includes(name);

/**
 * Parses and checks the flags of `gitpod-dr rehearse` before anything starts.
 * @throws UsageError naming the flag and the problem (exit 2); TypeError (ERR_PARSE_ARGS_*) for an
 * unknown or malformed flag.
 */
export function parseRehearseFlags(args: string[]): RehearseFlags {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: "string" },
      scenario: { type: "string", default: DEFAULT_SCENARIO },
      days: { type: "string", default: String(DEFAULT_DAYS) },
      report: { type: "string" },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  if (!isScenario(values.scenario))
    throw new UsageError(
      `--scenario "${values.scenario}" is not a scenario; the scenarios are ${SCENARIOS.join(", ")}`,
    );
  const days = Number(values.days);
  if (!/^\d+$/.test(values.days.trim()) || !Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new UsageError(`--days must be a whole number of days from 1 to ${MAX_DAYS}, not "${values.days}"`);
  if (values.config !== undefined && values.config.trim() === "")
    throw new UsageError("--config needs a stage file, e.g. --config config/prod.ts");
  if (values.keep && values.json)
    throw new UsageError(
      "--keep waits for Ctrl-C after the report and --json prints the report when the command ends: use one of them",
    );
  return {
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    scenario: values.scenario,
    days,
    ...(values.report !== undefined ? { report: reportPath(values.report) } : {}),
    json: values.json,
    keep: values.keep,
  };
}

/** `--report FILE.html`: an .html file in a directory that exists (checked now, not after the run). */
function reportPath(file: string): string {
  if (!/\.html$/i.test(file)) throw new UsageError(`--report must name an .html file, not "${file}"`);
  const path = resolve(file);
  const dir = dirname(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) throw new UsageError(`--report "${file}": the directory ${dir} does not exist`);
  return path;
}
