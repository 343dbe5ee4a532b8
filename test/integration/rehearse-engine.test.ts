/**
 * The rehearsal engine, every scenario on the example stage: the verdict and the figures the report
 * gives (RPO per tier, the recovery point used, the RTO with its steps), and the end state each scenario
 * requires (the messages, the alarms, the restored resources). The scenarios share the synthesized
 * restore machine (one per deployment kind, memoised in the process); each has its own world.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { clients } from "../../packages/functions/src/lib/cache.ts";
import { env } from "../../packages/functions/src/lib/env.ts";
import { runRehearsal } from "../../packages/sim/src/rehearse/run.ts";
import type { RehearsalEvent, RehearsalReport } from "../../packages/sim/src/rehearse/types.ts";

const STAGE = "example";
const MINUTE = 60;

async function rehearse(scenario: RehearsalReport["scenario"], days: number) {
  const events: RehearsalEvent[] = [];
  const { report } = await runRehearsal({ scenario, days, onEvent: (e) => events.push(e) });
  return { report, events };
}

/** Steps of a branch, in start order. */
const branch = (report: RehearsalReport, name: string) => report.rto.steps.filter((s) => s.branch === name);

describe("runRehearsal (example stage)", () => {
  it("region-loss (3 days, the default run): every tier back in the DR region, RPO and RTO reported", async () => {
    const before = { clients, env, Date, fetch: globalThis.fetch, config: process.env.GITPOD_DR_CONFIG };
    const { report, events } = await rehearse("region-loss", 3);
    // The real handlers ran with the run's client cache, environment, clock and fetch: all given back.
    expect({ clients, env, Date, fetch: globalThis.fetch, config: process.env.GITPOD_DR_CONFIG }).toEqual(
      before,
    );
    expect(clients).toBe(before.clients);
    expect(Date).toBe(before.Date);
    expect(globalThis.fetch).toBe(before.fetch);

    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    expect(report.config).toMatchObject({
      stage: STAGE,
      primaryRegion: "eu-west-1",
      drRegion: "eu-central-1",
    });
    // The nightly snapshot is copied to DR at the next night's run: the DR copy is a day old, plus.
    expect(report.rpo.database).toBeGreaterThan(24 * 3600);
    expect(report.rpo.database).toBeLessThan(26 * 3600);
    expect(report.rpo.objectStorage).toBeLessThanOrEqual(3 * 3600);
    expect(report.rpo.images).toBeLessThanOrEqual(6 * 3600);
    expect(report.rpo.application).toBeGreaterThan(0);
    expect(report.recoveryPoint.database).toMatch(/^gitpod-dr-gitpod-db-2026-12-0\d-0300$/);
    expect(report.recoveryPoint.application).toMatch(/^gitpod-dr-2026-12-0\d-0200$/);
    // The RDS restore (15–30 virtual minutes) dominates; the branches ran side by side.
    expect(report.rto.totalSeconds).toBeGreaterThan(15 * MINUTE);
    expect(report.rto.totalSeconds).toBeLessThan(60 * MINUTE);
    const database = branch(report, "database");
    expect(database[0]?.name).toBe("Restore database");
    expect(database.at(-1)?.endSeconds).toBeGreaterThanOrEqual(15 * MINUTE);
    expect(branch(report, "images").map((s) => s.name)).toEqual([
      "Ensure image",
      "Ensure image",
      "Ensure image",
    ]);
    expect(branch(report, "application")[0]?.startSeconds).toBeLessThan(database.at(-1)?.endSeconds ?? 0);
    expect(report.rto.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        "Point application at restored endpoints",
        "Redeploy",
        "Verify",
        "Notify success",
      ]),
    );
    expect(report.rto.overheadSeconds).toBeGreaterThan(0);
    expect(report.rto.overheadSeconds).toBeLessThan(report.rto.totalSeconds);
    // The success message as the restore published it, to the standby's topic in the DR region.
    const success = report.messages.find((m) => m.subject.includes("complete"));
    expect(success?.topicArn).toBe(`arn:aws:sns:eu-central-1:123456789012:gitpod-dr-${STAGE}-alerts`);
    expect(success?.body).toContain(report.recoveryPoint.database as string);
    // Backups of every tier ran on the virtual clock.
    const tiers = new Set(report.backups.filter((b) => b.outcome === "ok").map((b) => b.tier));
    expect([...tiers].sort()).toEqual(["application", "database", "images", "objectStorage"]);
    expect(events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["setup", "job", "disaster", "restore", "verdict"]),
    );
    expect(events.at(-1)).toMatchObject({ kind: "verdict", outcome: "ok", progress: 1 });
    expect(report.wallSeconds).toBeGreaterThan(0);
  }, 300_000);

  it("db-corruption: the database alone, in place, from the snapshot before the bad write", async () => {
    const { report, events } = await rehearse("db-corruption", 2);

    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    const disaster = events.find((e) => e.kind === "disaster");
    const bad = Date.parse(/at (\S+Z)/.exec(disaster?.text ?? "")?.[1] ?? "");
    expect(Date.parse(report.recoveryPoint.recoveryTime ?? "")).toBeLessThan(bad);
    expect(report.rto.steps.some((s) => s.branch === "application" || s.branch === "images")).toBe(false);
    expect(
      report.messages.some((m) => m.topicArn.includes(":eu-west-1:") && m.subject.includes("complete")),
    ).toBe(true);
  }, 300_000);

  it("broken-replication: the objectStorage RPO alarm fires and its recovery point stops advancing", async () => {
    const { report } = await rehearse("broken-replication", 2);

    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    // Its last change: to ALARM once the age passed the target (3h), after replication stopped (day 2).
    const alarm = report.alarms.filter((a) => a.name === `gitpod-dr-${STAGE}-rpo-objectStorage`).at(-1);
    expect(alarm?.state).toBe("ALARM");
    expect(Date.parse(alarm?.at ?? "")).toBeGreaterThan(Date.parse("2026-12-02T04:30:00Z"));
    expect(alarm?.reason).toMatch(/greater than the threshold \(10800\.0\)/);
    expect(report.rpo.objectStorage).toBeGreaterThan(20 * 3600);
    expect(
      report.messages.some(
        (m) => m.subject === `ALARM: "gitpod-dr-${STAGE}-rpo-objectStorage" in eu-central-1`,
      ),
    ).toBe(true);
    expect(report.messages.some((m) => m.subject.startsWith(`gitpod-dr [${STAGE}] s3-check failed`))).toBe(
      true,
    );
  }, 300_000);

  it("failed-velero-backup: an alert names the PartiallyFailed backup and the restore uses an earlier good one", async () => {
    const { report } = await rehearse("failed-velero-backup", 3);

    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    // The second-to-last nightly backup before the disaster (2026-12-04 04:30) ends PartiallyFailed.
    const failed = "gitpod-dr-2026-12-03-0200";
    const alert = report.messages.find((m) =>
      m.subject.startsWith(`gitpod-dr [${STAGE}] velero-backup failed`),
    );
    expect(alert?.body).toContain(failed);
    expect(alert?.body).toContain("PartiallyFailed");
    expect(report.recoveryPoint.application).toMatch(/^gitpod-dr-2026-12-0\d-0200$/);
    expect(report.recoveryPoint.application).not.toBe(failed);
  }, 300_000);

  it("image-missing: Ensure images copies the image the DR registry lacks", async () => {
    const { report, events } = await rehearse("image-missing", 2);

    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    expect(events.find((e) => e.kind === "disaster")?.text).toContain("gitpod/ws-manager-mk2:2024.11.0");
    expect(branch(report, "images")).toHaveLength(3);
  }, 300_000);

  it("keep: the clusters stay up after the report and the kubeconfig works with kubectl", async () => {
    const { report, kept } = await runRehearsal({ scenario: "region-loss", days: 2, keep: true });
    const dir = await mkdtemp(join(tmpdir(), "rehearse-kubeconfig-"));
    try {
      expect(report.verdict).toBe("passed");
      await writeFile(join(dir, "config"), kept?.kubeconfig ?? "");
      // Async: the simulated clusters answer from this process.
      const kubectl = async (...args: string[]) =>
        (
          await promisify(execFile)("kubectl", [
            "--kubeconfig",
            join(dir, "config"),
            "--request-timeout=20s",
            ...args,
          ])
        ).stdout;
      expect(await kubectl("get", "ns", "-o", "name")).toContain("namespace/gitpod");
      // The restored application in the DR cluster, and the backups Velero synced there.
      const restored = await kubectl("--context", "gitpod-dr", "get", "deploy", "-n", "gitpod", "-o", "name");
      expect(restored).toContain("deployment.apps/server");
      expect(restored).toContain("deployment.apps/proxy");
      expect(
        await kubectl("--context", "gitpod-dr", "get", "backups.velero.io", "-n", "velero", "-o", "name"),
      ).toContain(`backup.velero.io/${report.recoveryPoint.application}`);
    } finally {
      await kept?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
