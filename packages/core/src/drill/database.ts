import type { RDSClient } from "@aws-sdk/client-rds";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DrillConfig } from "../config/drill.ts";
import { describeScratch, type ScratchAccess, type ScratchDatabase, scratchPassword } from "./credentials.ts";
import { type DatabaseCheckReport, runDatabaseChecks } from "./database-checks.ts";
import { DrillNotReadyError, DrillVerificationFailedError } from "./errors.ts";
import type { SqlConnection, SqlEndpoint } from "./mysql.ts";
import type { DrillRecoveryPoint, DrillResult } from "./types.ts";

/**
 * "Check database": connects to the scratch database with the drill's credentials, over TLS, and runs
 * the checks. The baseline of the row-count ratio is the recovery point's record, else the previous
 * successful drill's.
 */

export interface DrillDatabaseDeps {
  readonly rds: Pick<RDSClient, "send">;
  readonly secrets: Pick<SecretsManagerClient, "send">;
  readonly connect: (endpoint: SqlEndpoint) => Promise<SqlConnection>;
  /** `rds` in the function; a test server's CA in tests. */
  readonly tls: SqlEndpoint["tls"];
}

/** Connection errors that mean "the new password is not applied yet", not a broken copy. */
const NOT_YET = new Set(["ER_ACCESS_DENIED_ERROR", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND"]);

/**
 * @throws DrillNotReadyError (the database is not available or refuses the new password yet: the state
 *   retries), DrillVerificationFailedError (a check failed; `summary` is the report), AwsCallError
 */
export async function checkScratchDatabase(
  deps: DrillDatabaseDeps,
  input: {
    readonly database: ScratchDatabase;
    readonly access: ScratchAccess;
    readonly point: DrillRecoveryPoint;
    readonly previous?: DrillResult | undefined;
    readonly checks: DrillConfig["checks"]["database"];
  },
): Promise<DatabaseCheckReport> {
  const db = await describeScratch(deps.rds, input.database);
  if (db.status !== "available") {
    throw new DrillNotReadyError(`${input.database.identifier} is ${db.status}, not available`);
  }
  const password = await scratchPassword(deps.secrets, input.access.secretArn);
  let connection: SqlConnection;
  try {
    connection = await deps.connect({
      host: input.access.host,
      port: input.access.port,
      user: input.access.username,
      password,
      database: input.checks.schema,
      tls: deps.tls,
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (NOT_YET.has(code)) {
      throw new DrillNotReadyError(
        `${input.database.identifier} refuses the drill's connection yet (${code})`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const recorded = input.point.database?.rowCounts;
  const baseline = recorded
    ? { rowCounts: recorded, from: `recovery point ${input.point.id}` }
    : input.previous?.rowCounts
      ? { rowCounts: input.previous.rowCounts, from: `drill ${input.previous.drillId}` }
      : undefined;
  try {
    const report = await runDatabaseChecks(connection, {
      schema: input.checks.schema,
      tables: input.checks.tables,
      sql: input.checks.sql,
      rowCountRatio: input.checks.rowCountRatio,
      maxStalenessHours: input.checks.maxStalenessHours,
      recoveryTime: new Date(input.point.recoveryTime),
      ...(baseline ? { baseline } : {}),
    });
    if (report.problems.length > 0) {
      throw new DrillVerificationFailedError(
        `${report.problems.length} database check(s) failed on ${input.database.identifier}: ${report.problems.join("; ")}`,
        report.problems,
        report,
      );
    }
    return report;
  } finally {
    await connection.close();
  }
}
