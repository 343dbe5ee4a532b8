/**
 * The stage's restore drill inside a rehearsal: with `--days 7` the example's weekly drill (Sunday 04:00,
 * 2026-12-06) fires once, and its synthesized state machine runs on the REAL drill handlers in the
 * rehearsal's simulated account (the scratch database on a private MariaDB). One rehearsal for the file;
 * the end state is read from its world before it stops.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { afterAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { catalogStore } from "../../packages/core/src/catalog/clients.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { runRehearsal } from "../../packages/sim/src/rehearse/run.ts";
import type { RehearsalEvent } from "../../packages/sim/src/rehearse/types.ts";

describe("the restore drill in a rehearsal (example stage, 7 days)", () => {
  it("runs at its scheduled virtual time, passes, is recorded, sends one message and leaves nothing", async () => {
    const events: RehearsalEvent[] = [];
    const end: Record<string, unknown> = {};
    const { report } = await runRehearsal({
      scenario: "region-loss",
      days: 7,
      onEvent: (e) => events.push(e),
      inspect: async (world) => {
        const dr = world.config.regions.dr;
        const store = catalogStore(catalogConfig(world.stage, world.config), world.account.cache);
        end.entries = await store?.newest("drill");
        const rds = world.account.cache.client(RDSClient, dr);
        end.databases = ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).map(
          (d) => d.DBInstanceIdentifier,
        );
        end.secrets = world.account.secrets.secrets.map((s) => s.name);
        end.namespaces = (world.dr?.api.store.list("v1", "Namespace") ?? []).map((n) => n.metadata.name);
      },
    });
    const drills = report.backups.filter((b) => b.tier === "drill");
    expect(drills).toEqual([
      expect.objectContaining({ at: "2026-12-06T04:00:00.000Z", tier: "drill", outcome: "ok" }),
    ]);
    const line = events.find((e) => e.kind === "job" && e.subject === "drill");
    expect(line?.text).toMatch(/^restore drill \S+ passed/);
    const messages = report.messages.filter((m) => /drill/i.test(m.subject));
    expect(messages).toHaveLength(1);
    expect(messages[0]?.at.startsWith("2026-12-06T0")).toBe(true);
    const entries = end.entries as { drillId: string; succeeded: boolean }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ succeeded: true });
    expect(drills[0]?.label).toContain(entries[0]?.drillId);
    // Nothing of the drill is left: no scratch database, no drill secret, no scratch namespace.
    expect((end.databases as string[]).filter((d) => d.startsWith("gitpod-dr-drill-"))).toEqual([]);
    expect(end.secrets).toEqual([]);
    expect((end.namespaces as string[]).filter((n) => n.includes("-drill-"))).toEqual([]);
    // The rest of the run is unchanged by it.
    expect(report.verdict).toBe("passed");
  }, 300_000);
});

describe("a restore drill that fails in a rehearsal", () => {
  const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-rehearse-drill-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("fails the rehearsal with a finding naming the failed check, and sends the drill's one failure message", async () => {
    // The example, with a SQL check the restored database cannot meet.
    const drill = exampleConfig.drill as { checks: { database: Record<string, unknown> } };
    const stage = {
      ...exampleConfig,
      drill: {
        ...drill,
        checks: {
          ...drill.checks,
          database: {
            ...drill.checks.database,
            sql: [
              { name: "a million users", sql: "SELECT COUNT(*) FROM d_b_user", expect: { min: 1_000_000 } },
            ],
          },
        },
      },
    };
    const configPath = join(dir, "lab.ts");
    writeFileSync(configPath, `export default ${JSON.stringify(stage)};\n`);
    const { report } = await runRehearsal({ configPath, scenario: "region-loss", days: 7 });

    expect(report.backups.filter((b) => b.tier === "drill")).toEqual([
      expect.objectContaining({ at: "2026-12-06T04:00:00.000Z", outcome: "failed" }),
    ]);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        severity: "error",
        field: "drill",
        message: expect.stringMatching(/a million users/),
      }),
    );
    expect(report.verdict).toBe("failed");
    const failure = report.messages.filter((m) => /drill/i.test(m.subject));
    expect(failure).toHaveLength(1);
    expect(failure[0]?.body).toMatch(/a million users/);
  }, 300_000);
});
