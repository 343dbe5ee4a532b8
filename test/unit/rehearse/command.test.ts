/**
 * `gitpod-dr rehearse` over an engine that replays events and returns a report (the engine itself runs in
 * test/integration/cli-rehearse.test.ts): the flags and their usage errors, the live lines and progress,
 * the summary, --json, --report, --keep, and the exit codes.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io, main } from "../../../packages/cli/src/main.ts";
import { type RehearseDeps, rehearseCommand } from "../../../packages/cli/src/rehearse/command.ts";
import { formatEvent, formatSummary } from "../../../packages/cli/src/rehearse/format.ts";
import type {
  RehearsalEvent,
  RehearsalOptions,
  RehearsalReport,
} from "../../../packages/sim/src/rehearse/types.ts";
import { sampleReport } from "./sample-report.ts";

function capture(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  const progress: string[] = [];
  const io: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    ...(tty ? { progress: (t: string) => progress.push(t) } : {}),
  };
  return { io, out, err, progress };
}

const EVENTS: RehearsalEvent[] = [
  {
    at: "2026-12-01T00:00:00.000Z",
    kind: "setup",
    text: "simulated account up",
    outcome: "ok",
    progress: 0.05,
  },
  {
    at: "2026-12-01T03:00:00.000Z",
    kind: "job",
    text: "RDS snapshot gitpod-dr-gitpod-db-2026-12-01-0300 copied to eu-central-1",
    outcome: "ok",
    subject: "database",
    progress: 0.3,
  },
  { at: "2026-12-03T22:30:00.000Z", kind: "disaster", text: "eu-west-1 is lost", progress: 0.7 },
  { at: "2026-12-03T23:11:00.000Z", kind: "verdict", text: "passed", outcome: "ok", progress: 1 },
];

/** An engine that replays EVENTS and returns `report`; records the options it was given. */
function fakeEngine(report: RehearsalReport, kept?: { kubeconfig: string; stopped: boolean[] }) {
  const calls: RehearsalOptions[] = [];
  const runRehearsal: NonNullable<RehearseDeps["runRehearsal"]> = async (options) => {
    calls.push(options);
    for (const event of EVENTS) options.onEvent?.(event);
    return {
      report,
      ...(kept
        ? {
            kept: {
              kubeconfig: kept.kubeconfig,
              stop: async () => {
                kept.stopped.push(true);
              },
            },
          }
        : {}),
    };
  };
  return { runRehearsal, calls };
}

describe("gitpod-dr rehearse: flags", () => {
  it.each([
    [
      ["--scenario", "meteor"],
      '--scenario "meteor" is not a scenario; the scenarios are region-loss, db-corruption, broken-replication, failed-velero-backup, image-missing',
    ],
    [["--days", "0"], '--days must be a whole number of days from 1 to 30, not "0"'],
    [["--days", "31"], '--days must be a whole number of days from 1 to 30, not "31"'],
    [["--days", "2.5"], '--days must be a whole number of days from 1 to 30, not "2.5"'],
    [["--days", "three"], '--days must be a whole number of days from 1 to 30, not "three"'],
    [["--report", "out.txt"], '--report must name an .html file, not "out.txt"'],
    [
      ["--report", "/nonexistent-dir/r.html"],
      '--report "/nonexistent-dir/r.html": the directory /nonexistent-dir does not exist',
    ],
    [["--config", ""], "--config needs a stage file, e.g. --config config/prod.ts"],
    [
      ["--keep", "--json"],
      "--keep waits for Ctrl-C after the report and --json prints the report when the command ends: use one of them",
    ],
    [["extra"], 'unexpected argument "extra"'],
  ])("%j exits 2 naming the flag and the problem, before anything runs", async (args, message) => {
    const run = capture();
    expect(await main(["rehearse", ...args], run.io)).toBe(EXIT_USAGE);
    expect(run.err).toEqual([`gitpod-dr rehearse: ${message}. See gitpod-dr rehearse --help`]);
    // With --json the error is the one JSON document on stdout.
    expect(run.out.map((o) => JSON.parse(o).error.message)).toEqual(
      args.includes("--json") ? [`${message}. See gitpod-dr rehearse --help`] : [],
    );
  });

  it("passes the defaults, or the flags given, to the engine", async () => {
    const engine = fakeEngine(sampleReport());
    await rehearseCommand([], capture().io, engine);
    const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-rehearse-flags-"));
    await rehearseCommand(
      [
        "--config",
        "config/prod.ts",
        "--scenario",
        "image-missing",
        "--days",
        "7",
        "--report",
        join(dir, "r.html"),
      ],
      capture().io,
      engine,
    );
    expect(engine.calls.map(({ onEvent, ...rest }) => rest)).toEqual([
      { configPath: "config/example.ts", scenario: "region-loss", days: 3, keep: false },
      { configPath: "config/prod.ts", scenario: "image-missing", days: 7, keep: false },
    ]);
  });
});

describe("gitpod-dr rehearse: what it prints", () => {
  it("prints a line per event, then the summary; exit 0 for a passed verdict", async () => {
    const run = capture();
    expect(await rehearseCommand([], run.io, fakeEngine(sampleReport()))).toBe(EXIT_OK);
    expect(run.out.slice(0, 4)).toEqual([
      "2026-12-01 00:00:00  setup    ✓ simulated account up",
      "2026-12-01 03:00:00  job      ✓ RDS snapshot gitpod-dr-gitpod-db-2026-12-01-0300 copied to eu-central-1",
      "2026-12-03 22:30:00  disaster   eu-west-1 is lost",
      "2026-12-03 23:11:00  verdict  ✓ passed",
    ]);
    const summary = run.out.slice(4).join("\n");
    expect(summary).toBe(formatSummary(sampleReport()));
    expect(summary).toContain("Verdict: PASSED  (region-loss: the primary region is lost");
    expect(summary).toMatch(/^ {2}database\s+5h 30m 00s$/m);
    expect(summary).toMatch(/^ {2}objectStorage\s+30m 00s$/m);
    expect(summary).toContain(
      "Recovery point used: 2026-12-03 19:00:00 (database gitpod-dr-gitpod-db-2026-12-03-0300, images sync 2026-12-03T18:00:00Z, application gitpod-dr-20261203-0200)",
    );
    expect(summary).toContain("RTO: 41m 00s total, 2m 30s over the slowest parallel branch");
    expect(summary).toMatch(/^ {2}Restore database\s+database\s+\+5s\s+\+25m 05s\s+25m 00s\s+✓$/m);
    expect(summary).toContain("Alarms fired: 1");
    expect(summary).toMatch(
      /^ {2}2026-12-03 22:45:00\s+ALARM\s+gitpod-dr-example-rpo-database\s+RecoveryPointAge/m,
    );
    expect(summary).toContain("SNS messages: 2 (bodies in --json and --report FILE.html)");
    expect(summary).toContain("Findings: none");
    expect(run.progress).toEqual([]);
  });

  it("on a terminal keeps a progress line under the events, cleared before each line and at the end", async () => {
    const run = capture(true);
    await rehearseCommand([], run.io, fakeEngine(sampleReport()));
    expect(run.progress).toHaveLength(EVENTS.length * 2 + 1);
    expect(run.progress[1]).toBe(
      `[#.......................]   5%  2026-12-01 00:00:00  simulated account up`,
    );
    expect(run.progress[5]).toMatch(/^\[#{17}\.{7}\] {2}70% {2}2026-12-03 22:30:00 {2}eu-west-1 is lost$/);
    expect(run.progress.filter((_, i) => i % 2 === 0)).toEqual(Array(EVENTS.length + 1).fill(""));
  });

  it("exit 1 for a failed verdict, with the reasons and the findings", async () => {
    const report = sampleReport({
      verdict: "failed",
      reasons: ["the restore did not bring the database back"],
      findings: [
        { severity: "error", field: "rpo.database", message: "26h cannot be met by cron(0 3 ? * MON *)" },
      ],
    });
    const run = capture();
    expect(await rehearseCommand([], run.io, fakeEngine(report))).toBe(EXIT_FAILED);
    const text = run.out.join("\n");
    expect(text).toContain("Verdict: FAILED");
    expect(text).toContain("  - the restore did not bring the database back");
    expect(text).toMatch(/^Findings: 1\n {2}error {2}rpo\.database {2}26h cannot be met/m);
  });

  it("--json: the report alone on stdout, one JSON document; the events on stderr", async () => {
    const report = sampleReport();
    const direct = capture();
    expect(await rehearseCommand(["--json"], direct.io, fakeEngine(report))).toBe(EXIT_OK);
    expect(direct.out).toHaveLength(1);
    expect(JSON.parse(direct.out[0] as string)).toEqual(report);
    expect(direct.err).toEqual(EVENTS.map(formatEvent));
  });

  it("--report writes the HTML page and says where", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-rehearse-html-"));
    const file = join(dir, "rehearsal.html");
    const run = capture();
    await rehearseCommand(["--report", file], run.io, fakeEngine(sampleReport()));
    expect(run.out.at(-1)).toBe(`HTML report written to ${file}`);
    const html = readFileSync(file, "utf8");
    expect(html).toContain('<figure id="timeline">');
    expect(html).toContain("gitpod-dr example: restore succeeded in 41m 00s");
  });
});

describe("gitpod-dr rehearse --keep", () => {
  it("writes the kubeconfig to a private file, prints it with a kubectl line, waits, then stops and cleans up", async () => {
    const kept = { kubeconfig: "apiVersion: v1\nkind: Config\n", stopped: [] as boolean[] };
    const run = capture();
    let file = "";
    const code = await rehearseCommand(["--keep"], run.io, {
      ...fakeEngine(sampleReport(), kept),
      untilInterrupted: async () => {
        file =
          /kubeconfig: (\S+)$/.exec(
            run.out
              .join("\n")
              .split("\n")
              .find((l) => l.includes("kubeconfig: ")) ?? "",
          )?.[1] ?? "";
        expect(readFileSync(file, "utf8")).toBe(kept.kubeconfig);
        expect(kept.stopped).toEqual([]);
      },
    });
    expect(code).toBe(EXIT_OK);
    expect(run.out).toContain(`Try: kubectl --kubeconfig ${file} get ns`);
    expect(run.out).toContain("Press Ctrl-C to stop them.");
    expect(kept.stopped).toEqual([true]);
    expect(existsSync(file)).toBe(false);
  });
});

describe("gitpod-dr rehearse: isolation while the engine runs", () => {
  it("the engine sees no AWS credentials of the environment and cannot leave 127.0.0.1; both are back after", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAREHEARSALBOGUS01");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "bogus-secret");
    vi.stubEnv("AWS_PROFILE", "bogus-profile");
    const seen: Record<string, string | undefined> = {};
    const connect = net.Socket.prototype.connect;
    try {
      await rehearseCommand([], capture().io, {
        runRehearsal: async (options) => {
          for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"])
            seen[k] = process.env[k];
          seen.guarded = String(net.Socket.prototype.connect !== connect);
          return fakeEngine(sampleReport()).runRehearsal(options);
        },
      });
      expect(seen).toEqual({
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_PROFILE: undefined,
        guarded: "true",
      });
      expect(process.env.AWS_ACCESS_KEY_ID).toBe("AKIAREHEARSALBOGUS01");
      expect(net.Socket.prototype.connect).toBe(connect);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
