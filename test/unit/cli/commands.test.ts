import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { MIN_NODE_MAJOR, nodeVersionProblem } from "../../../packages/cli/bin/node-version.js";
import { COMMANDS, EXIT_OK, EXIT_USAGE, main } from "../../../packages/cli/src/main.ts";
import { buildCli, loadedInputs, runBin } from "../../fixtures/cli-bin.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const NAMES = COMMANDS.map((c) => c.name);

describe("gitpod-dr dispatch and help", () => {
  it("lists every command in --help", async () => {
    const run = capture();
    expect(await main(["--help"], run.io)).toBe(EXIT_OK);
    for (const name of NAMES) expect(run.out.join("\n")).toMatch(new RegExp(`^  ${name}\\s+\\S`, "m"));
  });

  it.each(NAMES.flatMap((name) => [[name, "--help"] as const, [name, "-h"] as const]))(
    "%s %s prints the command's usage, options, an example and exit codes, and exits 0",
    async (name, flag) => {
      const run = capture();
      expect(await main([name, flag], run.io)).toBe(EXIT_OK);
      const text = run.out.join("\n");
      expect(text).toContain(`Usage: gitpod-dr ${name}`);
      expect(text).toMatch(/^Options:\n( {2}.+\n)+/m);
      expect(text).toMatch(/-h, --help\s+show this help/);
      expect(text).toMatch(new RegExp(`^Examples?:\\n  npx gitpod-dr ${name} `, "m"));
      expect(text).toMatch(/^Exit codes:\n {2}0 {2}.+\n {2}1 {2}.+\n {2}2 {2}.+$/m);
      expect(run.err).toEqual([]);
    },
  );

  it("takes --help anywhere among the flags, and `help NAME` too", async () => {
    const a = capture();
    expect(await main(["copy-image", "a/b:1", "--help", "c/d:1"], a.io)).toBe(EXIT_OK);
    expect(a.out.join("\n")).toContain("Usage: gitpod-dr copy-image SRC DST");
    const b = capture();
    expect(await main(["help", "sync-images"], b.io)).toBe(EXIT_OK);
    expect(b.out.join("\n")).toContain("Usage: gitpod-dr sync-images --config FILE");
  });

  it("--version prints the package's version", async () => {
    const run = capture();
    const { version } = JSON.parse(await readFile("packages/cli/package.json", "utf8")) as {
      version: string;
    };
    expect(await main(["--version"], run.io)).toBe(EXIT_OK);
    expect(run.out).toEqual([`gitpod-dr ${version} (Node.js ${process.versions.node})`]);
  });

  it.each(NAMES)("%s: an unknown option is one clean line with balanced quotes, exit 2", async (name) => {
    const run = capture();
    expect(await main([name, "--frobnicate"], run.io)).toBe(EXIT_USAGE);
    expect(run.err).toEqual([
      `gitpod-dr ${name}: unknown option "--frobnicate". See gitpod-dr ${name} --help`,
    ]);
  });

  it("an unknown global option exits 2 naming it", async () => {
    const run = capture();
    expect(await main(["--verbose"], run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(/^gitpod-dr: unknown option "--verbose"\. Commands: rds-snapshot/);
  });

  it.each(NAMES)("%s --json: bad usage prints one JSON document with the error, exit 2", async (name) => {
    const run = capture();
    expect(await main([name, "--json", "--frobnicate"], run.io)).toBe(EXIT_USAGE);
    expect(run.out).toHaveLength(1);
    expect(JSON.parse(run.out[0] as string)).toEqual({
      error: { name: "UsageError", message: `unknown option "--frobnicate". See gitpod-dr ${name} --help` },
      exitCode: 2,
    });
  });
});

describe("the Node.js version check of the bin", () => {
  it("says in one line what is needed and how, for an old Node", () => {
    expect(nodeVersionProblem("22.0.0", "/x/node")).toBeUndefined();
    expect(nodeVersionProblem("24.1.0", "/x/node")).toBeUndefined();
    const problem = nodeVersionProblem("20.20.2", "/usr/bin/node");
    expect(problem).toBe(
      `gitpod-dr needs Node.js ${MIN_NODE_MAJOR} or later, not 20.20.2 (/usr/bin/node): run it as \`npx gitpod-dr …\` or \`npm run gitpod-dr -- …\` in the project folder, which use the project's own Node ${MIN_NODE_MAJOR} from node_modules/.bin`,
    );
  });

  const systemNode = (() => {
    try {
      return execFileSync("/usr/bin/node", ["--version"], { encoding: "utf8" }).trim();
    } catch {
      return undefined;
    }
  })();
  const old = systemNode !== undefined && Number(systemNode.slice(1).split(".")[0]) < MIN_NODE_MAJOR;

  it.runIf(old)(
    `on the machine's ${systemNode}, the bin exits 2 with that line and no stack trace`,
    async () => {
      await buildCli();
      const result = await runBin(["--help"], { node: "/usr/bin/node" });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim().split("\n")).toEqual([
        nodeVersionProblem((systemNode as string).slice(1), "/usr/bin/node"),
      ]);
    },
  );
});

describe("the prebuilt bin", () => {
  beforeAll(() => buildCli(), 120_000);

  it("runs as npm links it, with the project's Node: --help exits 0, an unknown command 2", async () => {
    const help = await runBin(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: gitpod-dr <command>");
    const bad = await runBin(["restore-everything"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "restore-everything"');
    const version = await runBin(["--version"]);
    expect(version.stdout).toMatch(/^gitpod-dr \d+\.\d+\.\d+ \(Node\.js 22\./);
  });

  it("runs JavaScript: no tsx at start, and a command loads only what it needs", async () => {
    const bin = await readFile("packages/cli/bin/gitpod-dr.js", "utf8");
    expect(bin).not.toMatch(/tsx/);
    const inputs = (command: string) => loadedInputs(command);
    const has = (files: string[], re: RegExp) => files.some((f) => re.test(f));

    const copy = await inputs("copy-image");
    expect(has(copy, /packages\/core\/src\/registry\/copy\.ts$/)).toBe(true);
    expect(has(copy, /node_modules\/@aws-sdk\//)).toBe(false);
    expect(has(copy, /node_modules\/@smithy\//)).toBe(false);
    expect(has(copy, /node_modules\/@kubernetes\//)).toBe(false);
    expect(has(copy, /node_modules\/zod\//)).toBe(false);
    // ECR's access (the AWS SDK) is a chunk of its own, loaded for an ECR copy only.
    expect(has(await inputs("ecr-access"), /node_modules\/@aws-sdk\/client-ecr\//)).toBe(true);

    const rds = await inputs("rds");
    expect(has(rds, /node_modules\/@aws-sdk\/client-rds\//)).toBe(true);
    expect(has(rds, /node_modules\/@kubernetes\//)).toBe(false);
    // The cluster is reached over Node's https by a few KB of our own REST calls, no client library.
    const velero = await inputs("velero");
    expect(has(velero, /packages\/core\/src\/velero\/cluster\.ts$/)).toBe(true);
    expect(has(velero, /packages\/core\/src\/velero\/kube-http\.ts$/)).toBe(true);
    expect(has(velero, /node_modules\/@kubernetes\//)).toBe(false);
  });
});
