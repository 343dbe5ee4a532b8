/**
 * `gitpod-dr rehearse` end to end through the prebuilt bin, each run in a fresh process with the real
 * engine: the --json report and the HTML page of one run (made with bogus AWS credentials in the
 * environment and a witness of every connection, to prove the isolation), a stage file whose restore
 * cannot work (the finding, exit 1), bad flags (exit 2 before the engine loads), and --keep with the
 * real kubectl against the kept cluster until Ctrl-C.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import type { RehearsalReport } from "../../packages/sim/src/rehearse/types.ts";
import { BIN, buildCli, loadedInputs, NODE_BIN_DIR, ROOT, runBin } from "../fixtures/cli-bin.ts";

const run = promisify(execFile);
const RUN_MS = 240_000;
const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-cli-rehearse-"));
const loopback = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host);

beforeAll(() => buildCli(), 180_000);

describe("gitpod-dr rehearse through the bin", () => {
  it("bad flags exit 2 naming the flag, before the simulated account starts", async () => {
    const scenario = await runBin(["rehearse", "--scenario", "meteor"]);
    expect(scenario.code).toBe(2);
    expect(scenario.stderr.trim()).toBe(
      'gitpod-dr rehearse: --scenario "meteor" is not a scenario; the scenarios are region-loss, db-corruption, broken-replication, failed-velero-backup, image-missing. See gitpod-dr rehearse --help',
    );
    const days = await runBin(["rehearse", "--days", "45", "--json"]);
    expect(days.code).toBe(2);
    expect(JSON.parse(days.stdout).error.message).toMatch(
      /^--days must be a whole number of days from 1 to 30/,
    );
    expect(days.stderr).not.toMatch(/setup/);
    // The command's chunk has the flags, the output and the HTML page; the engine is a chunk of its own.
    const inputs = await loadedInputs("command");
    expect(inputs.some((f) => /packages\/cli\/src\/rehearse\/flags\.ts$/.test(f))).toBe(true);
    expect(inputs.some((f) => /packages\/sim\/src\/rehearse\/html\.ts$/.test(f))).toBe(true);
    expect(
      inputs.filter((f) => /aws-local-stepfunctions|@kubernetes|sim\/src\/rehearse\/run\.ts$/.test(f)),
    ).toEqual([]);
  });

  it(
    "region-loss --json --report: one JSON document, the HTML page, no credentials used, nothing but 127.0.0.1 reached",
    async () => {
      const log = join(dir, "net.log");
      const html = join(dir, "region-loss.html");
      const sentinel = "AKIAREHEARSALSENTINEL";
      const result = await runBin(["rehearse", "--json", "--report", html], {
        timeoutMs: RUN_MS,
        env: {
          AWS_ACCESS_KEY_ID: sentinel,
          AWS_SECRET_ACCESS_KEY: "bogus/secret/key/that/must/not/sign/anything",
          AWS_PROFILE: "bogus-profile-of-a-real-account",
          NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, "test/fixtures/net-tap.mjs")).href}`,
          NET_TAP_LOG: log,
          NET_TAP_SENTINEL: sentinel,
        },
      });
      expect(result.stderr).not.toMatch(/warning: refused/);
      expect(result.code).toBe(0);

      // stdout is the report alone; the events went to stderr.
      const report = JSON.parse(result.stdout) as RehearsalReport;
      expect(report.scenario).toBe("region-loss");
      expect(report.verdict).toBe("passed");
      for (const tier of ["database", "objectStorage", "images", "application"] as const)
        expect(typeof report.rpo[tier]).toBe("number");
      expect(report.rto.totalSeconds).toBeGreaterThan(0);
      expect(report.rto.steps.length).toBeGreaterThan(0);
      expect(report.messages.length).toBeGreaterThan(0);
      expect(Array.isArray(report.alarms)).toBe(true);
      expect(result.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}disaster /m);
      expect(result.stderr).toContain(`HTML report written to ${html}`);

      // The witness saw connections (it works), all to the loopback, and the key id on no socket.
      const entries = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { kind: string; host?: string; path?: string });
      expect(entries.filter((e) => e.kind === "connect").length).toBeGreaterThan(0);
      expect(
        entries.filter((e) => e.kind === "connect" && e.path === undefined && !loopback(String(e.host))),
      ).toEqual([]);
      expect(entries.filter((e) => e.kind === "lookup" && !loopback(String(e.host)))).toEqual([]);
      expect(entries.filter((e) => e.kind === "sentinel-written")).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(sentinel);

      // The page parses, has the timeline and every message (bodies escaped, read back exactly).
      const page = readFileSync(html, "utf8");
      expect(XMLValidator.validate(page)).toBe(true);
      expect(page).toContain('<figure id="timeline">');
      // A mark per backup, with its tooltip, and the legend's three.
      expect((page.match(/<circle [^>]*><title>/g) ?? []).length).toBe(report.backups.length);
      const parsed = new XMLParser({ trimValues: false, processEntities: true }).parse(page) as {
        html: { body: { article?: { h3: string; pre: string } | { h3: string; pre: string }[] } };
      };
      const articles = [parsed.html.body.article ?? []].flat();
      expect(articles.map((a) => [String(a.h3), String(a.pre)])).toEqual(
        report.messages.map((m) => [m.subject, m.body]),
      );
    },
    RUN_MS + 10_000,
  );

  it(
    "a stage file with no DR target: the finding names the field, verdict failed, exit 1",
    async () => {
      const stage = join(dir, "broken.ts");
      const example = pathToFileURL(join(ROOT, "config/example.ts")).href;
      // A stage that validates but has no DR target: nowhere to restore to when the region is lost (the
      // drill, which would need it, moved to the primary).
      writeFileSync(
        stage,
        [
          `import example from ${JSON.stringify(example)};`,
          "const { dr, ...targets } = example.restore.targets;",
          'export default { ...example, restore: { ...example.restore, targets }, drill: { ...example.drill, target: "primary" } };',
        ].join("\n"),
      );
      const result = await runBin(["rehearse", "--config", stage, "--days", "1", "--json"], {
        timeoutMs: RUN_MS,
      });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as RehearsalReport;
      expect(report.verdict).toBe("failed");
      expect(report.config.stage).toBe("broken");
      expect(report.findings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            severity: "error",
            field: expect.stringMatching(/^restore\.targets\.dr/),
          }),
        ]),
      );
    },
    RUN_MS + 10_000,
  );

  it(
    "--keep: the kubeconfig works with the real kubectl (the restored namespace is there); Ctrl-C stops the clusters, exit 0",
    async () => {
      const child = spawn(BIN, ["rehearse", "--keep"], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${NODE_BIN_DIR}:${process.env.PATH}` },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      const kubeconfig = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no kubeconfig line in time:\n${stdout}\n${stderr}`)),
          RUN_MS,
        );
        child.stdout.on("data", (chunk) => {
          stdout += chunk;
          const m = /^Try: kubectl --kubeconfig (\S+) get ns$/m.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
        child.once("exit", (code) =>
          reject(new Error(`exited ${code} before --keep:\n${stdout}\n${stderr}`)),
        );
      });
      try {
        const contexts = (
          await run("kubectl", ["--kubeconfig", kubeconfig, "config", "get-contexts", "-o", "name"])
        ).stdout
          .trim()
          .split("\n");
        expect(contexts.length).toBeGreaterThan(0);
        const namespaces = await Promise.all(
          contexts.map(
            async (context) =>
              (
                await run("kubectl", [
                  "--kubeconfig",
                  kubeconfig,
                  "--context",
                  context,
                  "get",
                  "ns",
                  "-o",
                  "name",
                ])
              ).stdout,
          ),
        );
        expect(namespaces.join("\n")).toMatch(/^namespace\/gitpod$/m);
        const server = /server: (https?):\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(kubeconfig, "utf8"));
        expect(server).not.toBeNull();
        child.kill("SIGINT");
        const [code] = (await once(child, "exit")) as [number];
        expect(code).toBe(0);
        expect(existsSync(kubeconfig)).toBe(false);
        // The cluster's port is closed.
        const socket = connect(Number(server?.[2]), "127.0.0.1");
        const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException];
        expect(error.code).toBe("ECONNREFUSED");
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
    RUN_MS + 30_000,
  );
});
