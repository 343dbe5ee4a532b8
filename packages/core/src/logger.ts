/**
 * The logging surface core code uses. The Powertools `Logger` satisfies it in Lambda; the CLI passes a
 * console logger. Core never logs secrets: it logs identifiers and counts only.
 */
export interface JobLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLogger: JobLogger = { info() {}, warn() {} };
