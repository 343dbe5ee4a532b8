/**
 * Local image copies without AWS: the CLI takes a registry's login from the Docker config's credential
 * helpers (`credsStore`, `credHelpers`), running `docker-credential-<helper> get` with docker's protocol
 * (stdin: the server URL; stdout: {"Username", "Secret"}). A fake helper on PATH, a Basic-auth gate in
 * front of a real registry, and the built bin in a fresh process.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  manifestDigest,
  type PushedImage,
  pushImage,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import { buildCli, runBin } from "../fixtures/cli-bin.ts";

const SECRET = "Hx4-helper-only-secret-91";
let source: RegistryServer;
let destination: RegistryServer;
let gate: http.Server;
let gateHost: string;
let image: PushedImage;
let dir: string;
let helperLog: string;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry(), buildCli()]);
  image = await pushImage(source.host, "team/app", "v1", { layers: [randomLayer(50_000, { seed: 7 })] });
  // Basic auth in front of the source: robot and the helper's secret, or 401.
  const expected = `Basic ${Buffer.from(`robot:${SECRET}`).toString("base64")}`;
  gate = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="gate"', "content-length": "0" });
      res.end();
      return;
    }
    const upstream = http.request(
      `${source.url}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: source.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
  gateHost = `127.0.0.1:${(gate.address() as AddressInfo).port}`;

  dir = await mkdtemp(join(tmpdir(), "gitpod-dr-helper-"));
  helperLog = join(dir, "helper.log");
  await mkdir(join(dir, "bin"));
  // docker-credential-fake: answers for the gate only, as a real helper answers for its stored logins.
  const helper = join(dir, "bin", "docker-credential-fake");
  await writeFile(
    helper,
    `#!/bin/sh
[ "$1" = get ] || exit 2
url=$(cat)
echo "$url" >> "${helperLog}"
if [ "$url" = "${gateHost}" ]; then
  printf '{"ServerURL":"%s","Username":"robot","Secret":"${SECRET}"}' "$url"
else
  echo "credentials not found in native keychain"
  exit 1
fi
`,
  );
  await chmod(helper, 0o755);
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => gate?.close(resolve));
  await Promise.all([source?.stop(), destination?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function copyWith(dockerConfig: unknown, repository: string) {
  const configDir = await mkdtemp(join(dir, "docker-"));
  await writeFile(join(configDir, "config.json"), JSON.stringify(dockerConfig));
  await writeFile(helperLog, "");
  const result = await runBin(
    [
      "copy-image",
      `${gateHost}/team/app:v1`,
      `${destination.host}/${repository}`,
      "--insecure-registry",
      gateHost,
      "--insecure-registry",
      destination.host,
    ],
    { env: { DOCKER_CONFIG: configDir, PATH: `${join(dir, "bin")}:${process.env.PATH}` } },
  );
  return { ...result, asked: (await readFile(helperLog, "utf8")).split("\n").filter(Boolean) };
}

describe("docker credential helpers", () => {
  it("credsStore: a login listed under auths without an inline credential comes from the helper", async () => {
    const run = await copyWith({ credsStore: "fake", auths: { [gateHost]: {} } }, "via-store/app");
    expect(run.code, run.stderr).toBe(0);
    expect(run.asked).toEqual([gateHost]);
    // The destination inherits the source's tag when none is given.
    expect(await manifestDigest(destination.host, "via-store/app", "v1")).toBe(image.digest);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it("credHelpers: a registry's own helper, with no AWS and no Secrets Manager ARN", async () => {
    const run = await copyWith({ credHelpers: { [gateHost]: "fake" } }, "via-helpers/app");
    expect(run.code, run.stderr).toBe(0);
    expect(run.asked).toEqual([gateHost]);
    expect(await manifestDigest(destination.host, "via-helpers/app", "v1")).toBe(image.digest);
  });

  it("a helper with no login for the registry means anonymous access, which the gate refuses (exit 1)", async () => {
    const run = await copyWith({ credHelpers: { [gateHost]: "fake" } }, "x/app");
    expect(run.code).toBe(0); // sanity: the same config works…
    const other = await copyWith({ credsStore: "fake", auths: { [`${gateHost}/elsewhere`]: {} } }, "y/app");
    // …while a login stored under another server URL is not found, so the copy is anonymous and refused.
    expect(other.asked).toEqual([`${gateHost}/elsewhere`]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain(
      `RegistryAuthFailed: Registry ${gateHost} requires credentials (HTTP Basic) and none are configured for it`,
    );
  });

  it("a helper that is not installed is a named error saying what to install", async () => {
    const run = await copyWith({ credHelpers: { [gateHost]: "missing" } }, "z/app");
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain(
      'names the credential helper "missing" for ' +
        gateHost +
        ", but docker-credential-missing could not be run (ENOENT)",
    );
  });
});
