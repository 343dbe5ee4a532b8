import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { build, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GITPOD_TABLES } from "../../packages/core/src/config/drill.ts";
import { type DatabaseCheckSpec, runDatabaseChecks } from "../../packages/core/src/drill/database-checks.ts";
import { connectSql, type SqlConnection } from "../../packages/core/src/drill/mysql.ts";
import { gitpodSchema, type MariaDb, startMariaDb } from "../../packages/sim/src/drill/mariadb.ts";
import { leaveOutCjkTables } from "../../stacks/drill/bundling.ts";

/** The drill's database checks against a real MariaDB server (Debian's mariadbd), over TLS. */

const RECOVERY = new Date("2026-12-06T03:00:00Z");
const HOUR = 3600_000;
let db: MariaDb;
let conn: SqlConnection;

const spec = (schema: string, extra: Partial<DatabaseCheckSpec> = {}): DatabaseCheckSpec => ({
  schema,
  tables: GITPOD_TABLES,
  sql: [],
  rowCountRatio: { min: 0.9, max: 1.5 },
  maxStalenessHours: 26,
  recoveryTime: RECOVERY,
  ...extra,
});

beforeAll(async () => {
  db = await startMariaDb();
  await db.sql(gitpodSchema("gitpod", new Date(RECOVERY.getTime() - HOUR)));
  await db.sql(
    `${gitpodSchema("missing", new Date(RECOVERY.getTime() - HOUR))} DROP TABLE missing.d_b_workspace;`,
  );
  await db.sql(
    gitpodSchema("empty", new Date(RECOVERY.getTime() - HOUR), { users: 0, workspaces: 5, instances: 8 }),
  );
  await db.sql(gitpodSchema("stale", new Date(RECOVERY.getTime() - 48 * HOUR)));
  await db.sql(gitpodSchema("future", new Date(RECOVERY.getTime() + 5 * HOUR)));
  conn = await connectSql({
    host: "127.0.0.1",
    port: db.port,
    user: db.user,
    password: db.password,
    tls: { ca: db.caPem },
  });
}, 60_000);

afterAll(async () => {
  await conn?.close();
  await db?.stop();
});

describe("drill SQL checks on a real MariaDB", () => {
  it("passes on a healthy copy, records the row counts, and runs the configured SQL checks", async () => {
    const report = await runDatabaseChecks(
      conn,
      spec("gitpod", {
        baseline: {
          rowCounts: { d_b_user: 3, d_b_workspace: 4, d_b_workspace_instance: 8 },
          from: "the previous drill",
        },
        sql: [
          {
            name: "instances per workspace",
            sql: "SELECT COUNT(*) FROM gitpod.d_b_workspace_instance WHERE workspaceId = 'w0'",
            expect: { min: 1 },
          },
          {
            name: "engine",
            sql: "SELECT @@version_comment LIKE '%mariadb%' OR @@version LIKE '%MariaDB%'",
            expect: { equals: 1 },
          },
        ],
      }),
    );
    expect(report.problems).toEqual([]);
    expect(report.rowCounts).toEqual({ d_b_user: 3, d_b_workspace: 5, d_b_workspace_instance: 8 });
    expect(report.checks.map((c) => c.name)).toEqual([
      "gitpod.d_b_user exists",
      "gitpod.d_b_user rows",
      "gitpod.d_b_user row-count ratio",
      "gitpod.d_b_user newest row",
      "gitpod.d_b_workspace exists",
      "gitpod.d_b_workspace rows",
      "gitpod.d_b_workspace row-count ratio",
      "gitpod.d_b_workspace newest row",
      "gitpod.d_b_workspace_instance exists",
      "gitpod.d_b_workspace_instance rows",
      "gitpod.d_b_workspace_instance row-count ratio",
      "gitpod.d_b_workspace_instance newest row",
      "instances per workspace",
      "engine",
    ]);
    expect(report.checks.find((c) => c.name === "gitpod.d_b_user newest row")?.detail).toBe(
      "newest gitpod.d_b_user._lastModified is 2026-12-06T02:00:00.000Z (1.0 h before the recovery time)",
    );
  });

  it("reports a missing table", async () => {
    const report = await runDatabaseChecks(conn, spec("missing"));
    expect(report.problems).toEqual(["table missing.d_b_workspace is missing"]);
  });

  it("reports a table with no rows", async () => {
    const report = await runDatabaseChecks(conn, spec("empty"));
    expect(report.problems).toEqual(["table empty.d_b_user has no rows"]);
    expect(report.rowCounts.d_b_user).toBe(0);
  });

  it("reports a row count out of the configured ratio of the baseline", async () => {
    const report = await runDatabaseChecks(
      conn,
      spec("gitpod", {
        baseline: { rowCounts: { d_b_workspace_instance: 100 }, from: "recovery point rp-1" },
      }),
    );
    expect(report.problems).toEqual([
      "table gitpod.d_b_workspace_instance has 8 rows, 0.080 of the 100 of recovery point rp-1: outside 0.9–1.5 (drill.checks.database.rowCountRatio)",
    ]);
  });

  it("reports a stale newest row, and one newer than the recovery time", async () => {
    const stale = await runDatabaseChecks(conn, spec("stale"));
    expect(stale.problems).toHaveLength(3);
    expect(stale.problems[0]).toBe(
      "newest stale.d_b_user._lastModified is 2026-12-04T03:00:00.000Z, 48.0 h before the recovery time 2026-12-06T03:00:00.000Z: more than 26 h (drill.checks.database.maxStalenessHours), the copy is stale",
    );
    const future = await runDatabaseChecks(conn, spec("future"));
    expect(future.problems[0]).toBe(
      "newest future.d_b_user._lastModified is 2026-12-06T08:00:00.000Z, after the recovery time 2026-12-06T03:00:00.000Z: the recovery point's recorded time is wrong",
    );
  });

  it("reports a configured check whose value misses its expectation, and one whose SQL fails", async () => {
    const report = await runDatabaseChecks(
      conn,
      spec("gitpod", {
        tables: [],
        sql: [
          { name: "users", sql: "SELECT COUNT(*) FROM gitpod.d_b_user", expect: { min: 10 } },
          { name: "teams", sql: "SELECT COUNT(*) FROM gitpod.d_b_team", expect: { min: 1 } },
        ],
      }),
    );
    expect(report.problems).toEqual([
      'check "users": the value is 3, expected at least 10',
      `check "teams" failed: Table 'gitpod.d_b_team' doesn't exist`,
    ]);
  });

  it("connects only over verified TLS: with the RDS CA bundle, the test server's certificate is refused", async () => {
    // The RDS CA bundle does not issue the test server's certificate.
    await expect(
      connectSql({
        host: "127.0.0.1",
        port: db.port,
        user: db.user,
        password: db.password,
        tls: "rds",
        connectTimeoutMs: 5000,
      }),
    ).rejects.toThrow(/certificate/i);
  });
});

/** Text of every script the CJK tables serve (and beyond the BMP), stored utf8mb4. */
const TEXTS = ["日本語のテキスト", "简体中文", "繁體中文", "한국어 텍스트", "ｶﾀｶﾅ", "🦀 émoji"];
const CJK_TABLES = /iconv-lite[\\/]encodings[\\/]tables[\\/]/;

/**
 * The drill-database bundle leaves iconv-lite's CJK tables out (stacks/drill/bundling.ts): mysql2 over a
 * utf8mb4 connection never evaluates them. Proved on this real server with that bundle's mysql2 (built
 * with the plugin, run in plain Node), and in this process with the unbundled mysql2.
 */
describe("mysql2 over utf8mb4 without iconv-lite's CJK tables", () => {
  // The child's steps: connectSql (the drill's utf8mb4 connection), then mysql2 asked for Shift-JIS.
  const ENTRY = `
    import { createConnection } from "mysql2/promise";
    import { connectSql } from "./packages/core/src/drill/mysql.ts";
    const e = JSON.parse(process.env.DRILL_DB);
    const c = await connectSql({ ...e, tls: { ca: e.ca } });
    const rows = await c.query("SELECT id, t FROM charsets.texts ORDER BY id");
    const error = await c.query("SELECT * FROM charsets.表").catch((err) => err.message);
    await c.close();
    console.log(JSON.stringify({ texts: rows.map((r) => r.t), error }));
    // Shift-JIS: mysql2 encodes the handshake's user name with iconv-lite's table, and throws there.
    await createConnection({ ...e, ssl: { ca: e.ca }, charset: "SJIS_JAPANESE_CI" });
  `;

  it("round-trips utf8mb4 text of every script without loading a table; Shift-JIS meets the left-out table's error", async () => {
    await db.sql(
      "CREATE DATABASE charsets; CREATE TABLE charsets.texts (id INT PRIMARY KEY, t VARCHAR(64)) CHARACTER SET utf8mb4;",
    );
    for (const [i, t] of TEXTS.entries())
      await conn.query("INSERT INTO charsets.texts VALUES (?, ?)", [i + 1, t]);
    const dir = await mkdtemp(path.join(tmpdir(), "gitpod-dr-cjk-"));
    try {
      const bundle = path.join(dir, "probe.mjs");
      await build({
        stdin: { contents: ENTRY, resolveDir: path.join(import.meta.dirname, "../.."), loader: "ts" },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "esnext",
        mainFields: ["module", "main"],
        banner: {
          js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        },
        // Typed for SST's esbuild 0.18; its hooks are the same in this one.
        plugins: [leaveOutCjkTables as unknown as Plugin],
        outfile: bundle,
        logLevel: "error",
      });
      const endpoint = {
        host: "127.0.0.1",
        port: db.port,
        user: db.user,
        password: db.password,
        ca: db.caPem,
      };
      const run = promisify(execFile)(process.execPath, [bundle], {
        env: { ...process.env, DRILL_DB: JSON.stringify(endpoint) },
      });
      const failed = (await run.then(
        () => undefined,
        (error: unknown) => error,
      )) as { stdout: string; stderr: string } | undefined;
      const out = JSON.parse(failed?.stdout ?? "{}") as { texts: string[]; error: string };
      expect(out.texts).toEqual(TEXTS);
      expect(out.error).toBe("Table 'charsets.表' doesn't exist");
      // The probe is live: a double-byte connection reaches the stub in place of the table.
      expect(failed?.stderr).toMatch(/iconv-lite's \.\/tables\/shiftjis\.json is left out of this bundle/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // In this process, mysql2 unbundled (Node's CommonJS loader, which records every file it evaluates).
    expect(await conn.query("SELECT t FROM charsets.texts ORDER BY id")).toEqual(TEXTS.map((t) => ({ t })));
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((f) => f.includes(`${path.sep}mysql2${path.sep}`))).toBe(true);
    expect(loaded.filter((f) => CJK_TABLES.test(f))).toEqual([]);
  });
});
