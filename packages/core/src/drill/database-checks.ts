import type { SqlCheck, TableCheck } from "../config/drill.ts";

/**
 * The database verification of a drill: on the scratch copy, each expected table exists, has rows,
 * holds a row count within the configured ratio of the baseline (the recovery point's record, or the
 * previous drill's), and its newest row is consistent with the recovery time; then the configured SQL
 * checks. Every check runs, so one report names every problem. The SQL is built only from names the
 * configuration validated (`[A-Za-z0-9_$]`), quoted; values are parameters.
 */

/** A read-only SQL connection: rows as objects. `mysql.ts` implements it with mysql2 over TLS. */
export interface SqlClient {
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

export interface DatabaseCheckSpec {
  readonly schema: string;
  readonly tables: readonly TableCheck[];
  readonly sql: readonly SqlCheck[];
  readonly rowCountRatio: { readonly min: number; readonly max: number };
  readonly maxStalenessHours: number;
  /** The recovery point's recovery time. */
  readonly recoveryTime: Date;
  /** Row counts by table to compare with, and where they come from (for the message). */
  readonly baseline?: { readonly rowCounts: Readonly<Record<string, number>>; readonly from: string };
}

export interface CheckOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DatabaseCheckReport {
  readonly checks: readonly CheckOutcome[];
  readonly rowCounts: Readonly<Record<string, number>>;
  /** One line per failed check (empty: every check passed). */
  readonly problems: readonly string[];
}

/** A newest row this much after the recovery time means the recorded time is wrong, not the data. */
const FUTURE_SLACK_MS = 2 * 3600_000;

const q = (name: string) => `\`${name.replace(/`/g, "``")}\``;
const first = (rows: Record<string, unknown>[]): unknown => {
  const row = rows[0];
  return row ? Object.values(row)[0] : undefined;
};
const asNumber = (v: unknown): number | undefined => {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
};
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Whether a value meets an expectation; the reason when not. */
export function expectationProblem(value: unknown, expect: SqlCheck["expect"]): string | undefined {
  if (expect.equals !== undefined) {
    const equal =
      typeof expect.equals === "number" ? asNumber(value) === expect.equals : String(value) === expect.equals;
    if (!equal) return `is ${String(value)}, expected ${JSON.stringify(expect.equals)}`;
  }
  if (expect.min !== undefined || expect.max !== undefined) {
    const n = asNumber(value);
    if (n === undefined) return `is ${String(value)}, not a number`;
    if (expect.min !== undefined && n < expect.min) return `is ${n}, expected at least ${expect.min}`;
    if (expect.max !== undefined && n > expect.max) return `is ${n}, expected at most ${expect.max}`;
  }
  return undefined;
}

async function checkTable(
  sql: SqlClient,
  spec: DatabaseCheckSpec,
  table: TableCheck,
  outcomes: CheckOutcome[],
  rowCounts: Record<string, number>,
): Promise<void> {
  const name = `${spec.schema}.${table.table}`;
  const add = (check: string, ok: boolean, detail: string) =>
    outcomes.push({ name: `${name} ${check}`, ok, detail });
  const exists = asNumber(
    first(
      await sql.query(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [spec.schema, table.table],
      ),
    ),
  );
  if (!exists) {
    add("exists", false, `table ${name} is missing`);
    return;
  }
  add("exists", true, `table ${name} exists`);
  const from = `${q(spec.schema)}.${q(table.table)}`;
  const count = asNumber(first(await sql.query(`SELECT COUNT(*) AS n FROM ${from}`))) ?? 0;
  rowCounts[table.table] = count;
  if (count === 0) {
    add("rows", false, `table ${name} has no rows`);
    return;
  }
  add("rows", true, `table ${name} has ${count} rows`);
  const base = spec.baseline?.rowCounts[table.table];
  if (base !== undefined && base > 0) {
    const ratio = count / base;
    const { min, max } = spec.rowCountRatio;
    const shown = ratio.toFixed(3);
    add(
      "row-count ratio",
      ratio >= min && ratio <= max,
      ratio >= min && ratio <= max
        ? `table ${name}: ${count} rows, ${shown} of ${base} (${spec.baseline?.from})`
        : `table ${name} has ${count} rows, ${shown} of the ${base} of ${spec.baseline?.from}: outside ${min}–${max} (drill.checks.database.rowCountRatio)`,
    );
  }
  if (table.newestColumn) {
    const column = `${name}.${table.newestColumn}`;
    let seconds: number | undefined;
    try {
      // UNIX_TIMESTAMP reads a TIMESTAMP as the instant it is, whatever the session's time zone.
      seconds = asNumber(
        first(await sql.query(`SELECT UNIX_TIMESTAMP(MAX(${q(table.newestColumn)})) AS t FROM ${from}`)),
      );
    } catch (error) {
      add("newest row", false, `newest ${column} cannot be read: ${message(error)}`);
      return;
    }
    if (seconds === undefined) {
      add("newest row", false, `newest ${column} is empty`);
      return;
    }
    const newest = new Date(seconds * 1000);
    const age = spec.recoveryTime.getTime() - newest.getTime();
    const hours = (age / 3600_000).toFixed(1);
    if (age > spec.maxStalenessHours * 3600_000) {
      add(
        "newest row",
        false,
        `newest ${column} is ${newest.toISOString()}, ${hours} h before the recovery time ${spec.recoveryTime.toISOString()}: more than ${spec.maxStalenessHours} h (drill.checks.database.maxStalenessHours), the copy is stale`,
      );
    } else if (-age > FUTURE_SLACK_MS) {
      add(
        "newest row",
        false,
        `newest ${column} is ${newest.toISOString()}, after the recovery time ${spec.recoveryTime.toISOString()}: the recovery point's recorded time is wrong`,
      );
    } else {
      add(
        "newest row",
        true,
        `newest ${column} is ${newest.toISOString()} (${hours} h before the recovery time)`,
      );
    }
  }
}

/**
 * Runs every check on the scratch database.
 * @throws only what the connection throws outside a check (a lost connection); a failing query is a
 *   failed check in the report.
 */
export async function runDatabaseChecks(
  sql: SqlClient,
  spec: DatabaseCheckSpec,
): Promise<DatabaseCheckReport> {
  const outcomes: CheckOutcome[] = [];
  const rowCounts: Record<string, number> = {};
  for (const table of spec.tables) {
    try {
      await checkTable(sql, spec, table, outcomes, rowCounts);
    } catch (error) {
      outcomes.push({
        name: `${spec.schema}.${table.table}`,
        ok: false,
        detail: `${spec.schema}.${table.table}: ${message(error)}`,
      });
    }
  }
  for (const check of spec.sql) {
    try {
      const value = first(await sql.query(check.sql));
      const problem = expectationProblem(value, check.expect);
      outcomes.push({
        name: check.name,
        ok: !problem,
        detail: problem
          ? `check "${check.name}": the value ${problem}`
          : `check "${check.name}": ${String(value)}`,
      });
    } catch (error) {
      outcomes.push({
        name: check.name,
        ok: false,
        detail: `check "${check.name}" failed: ${message(error)}`,
      });
    }
  }
  return {
    checks: outcomes,
    rowCounts,
    problems: outcomes.filter((o) => !o.ok).map((o) => o.detail),
  };
}
