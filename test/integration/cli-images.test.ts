/**
 * `gitpod-dr copy-image` and `sync-images` end to end: the CLI's `main` against two real local
 * registries (Debian's docker-registry), asserting exit codes, what it prints, and what the destination
 * holds afterwards.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main } from "../../packages/cli/src/main.ts";
import {
  getManifest,
  listTags,
  manifestDigest,
  type PushedImage,
  pushImage,
  pushMultiPlatform,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";

function capture(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  const progress: string[] = [];
  return {
    io: {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      ...(tty ? { progress: (t: string) => progress.push(t) } : {}),
    },
    out,
    err,
    progress,
  };
}

let a: RegistryServer;
let b: RegistryServer;
let single: PushedImage;
let multi: { index: PushedImage; children: PushedImage[] };
let configDir: string;
const savedDockerConfig = process.env.DOCKER_CONFIG;

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  single = await pushImage(a.host, "app/one", "v1", {
    layers: [randomLayer(200_000, { seed: 1 }), randomLayer(3000, { seed: 2 })],
  });
  multi = await pushMultiPlatform(
    a.host,
    "app/multi",
    "v1",
    [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
    { layerSize: 4000, seed: 10 },
  );
  for (const tag of ["1.0", "1.1", "dev"]) {
    await pushImage(a.host, "team/svc", tag, { layers: [randomLayer(1000, { seed: tag.length + 20 })] });
  }
  // No docker login: an empty Docker config, so nothing from the machine running the tests is read.
  configDir = await mkdtemp(join(tmpdir(), "gitpod-dr-cli-"));
  await writeFile(join(configDir, "config.json"), JSON.stringify({ auths: {} }));
  process.env.DOCKER_CONFIG = configDir;
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = savedDockerConfig;
  await rm(configDir, { recursive: true, force: true });
});

const insecure = () => ["--insecure-registry", a.host, "--insecure-registry", b.host];

describe("gitpod-dr copy-image", () => {
  it("copies an image with its digest, prints one report line, and exits 0; a second run is up to date", async () => {
    const first = capture();
    expect(
      await main(["copy-image", `${a.host}/app/one:v1`, `${b.host}/mirror/one:v1`, ...insecure()], first.io),
    ).toBe(EXIT_OK);
    expect(await manifestDigest(b.host, "mirror/one", "v1")).toBe(single.digest);
    expect(first.out).toHaveLength(1);
    expect(first.out[0]).toContain(`${a.host}/app/one:v1 → ${b.host}/mirror/one:v1: copied`);
    expect(first.out[0]).toContain(single.digest);
    expect(first.err).toEqual([]);

    const second = capture();
    expect(
      await main(["copy-image", `${a.host}/app/one:v1`, `${b.host}/mirror/one:v1`, ...insecure()], second.io),
    ).toBe(EXIT_OK);
    expect(second.out[0]).toContain("up to date");
  });

  it("takes the source's tag when the destination names none, and --json prints the report", async () => {
    const run = capture();
    expect(
      await main(
        ["copy-image", `${a.host}/app/one:v1`, `${b.host}/tagless/one`, "--json", ...insecure()],
        run.io,
      ),
    ).toBe(EXIT_OK);
    const report = JSON.parse(run.out.join("\n"));
    expect(report).toMatchObject({
      status: "copied",
      digest: single.digest,
      destination: `${b.host}/tagless/one:v1`,
    });
    expect(await listTags(b.host, "tagless/one")).toEqual(["v1"]);
  });

  it("copies only the platforms asked for with --platform", async () => {
    const run = capture();
    const code = await main(
      [
        "copy-image",
        `${a.host}/app/multi:v1`,
        `${b.host}/arm/multi:v1`,
        "--platform",
        "linux/arm64",
        ...insecure(),
      ],
      run.io,
    );
    expect(code).toBe(EXIT_OK);
    const pushed = JSON.parse((await getManifest(b.host, "arm/multi", "v1")).bytes.toString("utf8"));
    const arm = multi.children.find((c) => c.platform?.architecture === "arm64") as PushedImage;
    expect(pushed.manifests.map((m: { digest: string }) => m.digest)).toEqual([arm.digest]);
  });

  it("shows progress on a terminal", async () => {
    const run = capture(true);
    expect(
      await main(["copy-image", `${a.host}/app/multi:v1`, `${b.host}/tty/multi:v1`, ...insecure()], run.io),
    ).toBe(EXIT_OK);
    expect(run.progress.some((line) => /moved, \d+ blob\(s\)/.test(line))).toBe(true);
    expect(run.progress.at(-1)).toBe(""); // the status line is cleared before the report
  });

  it("exits 1 and names the registry's error when the source does not exist", async () => {
    const run = capture();
    expect(
      await main(["copy-image", `${a.host}/app/none:v1`, `${b.host}/x/none:v1`, ...insecure()], run.io),
    ).toBe(EXIT_FAILED);
    expect(run.out.join("\n")).toMatch(/FAILED[\s\S]*MANIFEST_UNKNOWN/);
    expect(await manifestDigest(b.host, "x/none", "v1")).toBeUndefined();
  });

  it("prints a registry's error that quotes the docker-login password without the password", async () => {
    // A registry that challenges Basic, then refuses the credentials quoting the password back.
    const password = "Zq7-winter-harbor-22";
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="leaky"', "content-length": "0" });
        res.end();
        return;
      }
      if (req.method === "HEAD") {
        // No Docker-Content-Digest: the engine reads the manifest with GET, whose error has a body.
        res.writeHead(200, { "content-length": "0" });
        res.end();
        return;
      }
      const body = JSON.stringify({
        errors: [{ code: "DENIED", message: `robot with ${password} may not pull`, detail: null }],
      });
      res.writeHead(403, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const leaky = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const auth = Buffer.from(`robot:${password}`).toString("base64");
    await writeFile(join(configDir, "config.json"), JSON.stringify({ auths: { [leaky]: { auth } } }));
    try {
      const run = capture();

      const code = await main(
        [
          "copy-image",
          `${leaky}/app/one:v1`,
          `${b.host}/leak/one:v1`,
          "--insecure-registry",
          leaky,
          ...insecure(),
        ],
        run.io,
      );

      expect(code).toBe(EXIT_FAILED);
      const printed = [...run.out, ...run.err].join("\n");
      expect(printed).toContain("DENIED (robot with [REDACTED] may not pull)");
      for (const form of [password, auth, Buffer.from(password).toString("base64").replace(/=+$/, "")]) {
        expect(printed).not.toContain(form);
      }
    } finally {
      await writeFile(join(configDir, "config.json"), JSON.stringify({ auths: {} }));
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("suggests --insecure-registry when a plain-HTTP registry is spoken to over HTTPS", async () => {
    const run = capture();
    const code = await main(["copy-image", `${a.host}/app/one:v1`, `${b.host}/tls/one:v1`], run.io);
    expect(code).toBe(EXIT_FAILED);
    expect(run.out.join("\n")).toMatch(/wrong version number/);
    expect(run.err).toContain(
      `hint: the registry answered HTTPS with plain HTTP. If it is a local registry without TLS, add --insecure-registry ${a.host} --insecure-registry ${b.host}`,
    );
  });

  it.each([
    [["copy-image", "only-one-ref"], /exactly two references/],
    [["copy-image", "reg.example.com/App:1", "reg.example.com/b:1"], /repository component "App"/],
    [["copy-image", "a/b:1", "c/d:1", "--platform", "linux"], /--platform: Invalid platform "linux"/],
    [
      ["copy-image", "a/b:1", "c/d:1", "--concurrency", "0"],
      /--concurrency must be a whole number from 1 to 32/,
    ],
    // The stage file's images.concurrency allows 1 to 32: the flag allows the same.
    [["copy-image", "a/b:1", "c/d:1", "--concurrency", "33"], /from 1 to 32, not "33"/],
    [["copy-image", "a/b:1", "c/d:1", "--no-such-flag"], /no-such-flag/],
  ])("exits 2 with the problem named for %j", async (argv, message) => {
    const run = capture();
    expect(await main(argv, run.io)).toBe(EXIT_USAGE);
    expect(run.err.join("\n")).toMatch(message);
  });
});

describe("gitpod-dr sync-images", () => {
  async function stageFile(extraRules: unknown[] = []): Promise<string> {
    const file = join(configDir, extraRules.length > 0 ? "cli-extra.ts" : "cli.ts");
    const config = {
      database: { identifier: "gitpod-db", kind: "instance" },
      regions: { primary: "eu-west-1", dr: "eu-central-1" },
      dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
      retention: { keepLast: 7, maxAgeDays: 14 },
      schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
      images: {
        schedule: "rate(6 hours)",
        // No credentialsSecretArn for the local destination: the CLI uses the docker login (empty here;
        // this registry asks for none). Only the scheduled job needs one (checked at synth).
        rules: [
          {
            name: "team",
            source: { registry: a.host },
            repositories: ["team/*"],
            tags: { include: "1\\..*" },
            destination: { registry: b.host, repositoryPrefix: "dr/" },
          },
          ...extraRules,
        ],
      },
    };
    await writeFile(file, `export default ${JSON.stringify(config, null, 2)};\n`);
    return file;
  }

  it("lists what it would copy with --dry-run and writes nothing", async () => {
    const run = capture();
    expect(
      await main(["sync-images", "--config", await stageFile(), "--dry-run", ...insecure()], run.io),
    ).toBe(EXIT_OK);
    const text = run.out.join("\n");
    expect(text).toContain("[dry run: nothing was changed]");
    expect(text).toContain(`${a.host}/team/svc:1.0 → ${b.host}/dr/team/svc:1.0`);
    expect(text).toContain(`${a.host}/team/svc:1.1 → ${b.host}/dr/team/svc:1.1`);
    expect(text).not.toContain(":dev");
    expect(await listTags(b.host, "dr/team/svc")).toEqual([]);
  });

  it("syncs the selected tags, printing a line per image when not on a terminal, then is up to date", async () => {
    const run = capture();
    const code = await main(["sync-images", "--config", await stageFile(), ...insecure()], run.io);
    expect(code).toBe(EXIT_OK);
    expect((await listTags(b.host, "dr/team/svc")).sort()).toEqual(["1.0", "1.1"]);
    expect(run.err.filter((line) => line.includes(" → "))).toHaveLength(2);
    expect(run.out.join("\n")).toMatch(/copied: 2, up to date: 0, failed: 0/);

    const again = capture();
    expect(await main(["sync-images", "--config", await stageFile(), ...insecure()], again.io)).toBe(EXIT_OK);
    expect(again.out.join("\n")).toMatch(/copied: 0, up to date: 2, failed: 0/);
    expect(again.out.join("\n")).toMatch(/moved 0 B/);
  });

  it("a failing rule: the printed counts agree with the error, on stdout and in the one JSON document", async () => {
    const missing = {
      name: "missing",
      source: { registry: a.host },
      repositories: ["nothing/here"],
      destination: { registry: b.host, repositoryPrefix: "dr/" },
    };
    const file = await stageFile([missing]);
    const run = capture();
    expect(await main(["sync-images", "--config", file, "--dry-run", ...insecure()], run.io)).toBe(
      EXIT_FAILED,
    );
    expect(run.err.join("\n")).toMatch(/ImageSyncIncomplete: Image sync of stage cli-extra: 1 failed/);
    expect(run.out.join("\n")).toMatch(/copied: 0, up to date: 0, failed: 1,/);

    const json = capture();
    const code = await main(["sync-images", "--config", file, "--dry-run", "--json", ...insecure()], json.io);
    expect(code).toBe(EXIT_FAILED);
    expect(json.out).toHaveLength(1);
    const doc = JSON.parse(json.out[0] as string);
    expect(doc).toMatchObject({
      stage: "cli-extra",
      dryRun: true,
      totals: { failed: 1 },
      error: { name: "ImageSyncIncomplete" },
      exitCode: 1,
    });
    expect(doc.error.message).toMatch(/: 1 failed/);
  });

  it("exits 2 when the stage has no images section or no --config is given", async () => {
    const noConfig = capture();
    expect(await main(["sync-images"], noConfig.io)).toBe(EXIT_USAGE);
    expect(noConfig.err.join("\n")).toMatch(/needs --config FILE/);

    const file = join(configDir, "noimages.ts");
    await writeFile(
      file,
      `export default ${JSON.stringify({
        database: { identifier: "gitpod-db" },
        regions: { primary: "eu-west-1", dr: "eu-central-1" },
        dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
        retention: { keepLast: 7, maxAgeDays: 14 },
        schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
      })};\n`,
    );
    const none = capture();
    expect(await main(["sync-images", "--config", file], none.io)).toBe(EXIT_USAGE);
    expect(none.err.join("\n")).toMatch(/has no "images" section/);
  });
});
