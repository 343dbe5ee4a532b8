/**
 * A command's help as the CLI prints it for `gitpod-dr NAME --help`: usage, options, examples and exit
 * codes. The fields are those of the commands' specs in the CLI's dispatch, so a command declares them
 * once.
 */
export interface CommandHelp {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly usage: string;
  readonly description?: string;
  readonly options: readonly (readonly [string, string])[];
  readonly examples: readonly string[];
  readonly exitCodes: readonly (readonly [number, string])[];
}

const table = (rows: readonly (readonly [string, string])[]) => {
  const width = Math.min(32, Math.max(...rows.map(([a]) => a.length)));
  return rows
    .map(([a, b]) =>
      a.length > width ? `  ${a}\n  ${" ".repeat(width + 2)}${b}` : `  ${a.padEnd(width)}  ${b}`,
    )
    .join("\n");
};

/** The text of `gitpod-dr NAME --help`. */
export function helpText(spec: CommandHelp): string {
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
    table(spec.exitCodes.map(([code, meaning]) => [String(code), meaning] as const)),
  ].join("\n");
}
