import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { rememberSecret } from "@gitpod-dr/core/notify/secrets";
import { type CredentialProvider, staticCredentials } from "@gitpod-dr/core/registry/auth";
import { RegistryAuthError } from "@gitpod-dr/core/registry/errors";
import { DOCKER_HUB, parseRegistryHost } from "@gitpod-dr/core/registry/reference";

interface DockerConfig {
  auths?: Record<string, { auth?: string }>;
  /** The credential helper for every login (`docker-credential-<credsStore>`). */
  credsStore?: string;
  /** Registry → its own credential helper, before `credsStore`. */
  credHelpers?: Record<string, string>;
}

const HELPER_TIMEOUT_MS = 30_000;

/** The registry host a docker config key names (`https://index.docker.io/v1/` is Docker Hub). */
function registryOf(key: string): string | undefined {
  const host = key.replace(/^https?:\/\//, "").split("/")[0] as string;
  try {
    return parseRegistryHost(host === "index.docker.io" || host === "docker.io" ? DOCKER_HUB : host);
  } catch {
    return undefined; // An entry for something that is not a registry host: ignored, as docker does.
  }
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin; its stdout is the JSON answer. */
function runHelper(helper: string, serverUrl: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, ["get"], { stdio: ["pipe", "pipe", "ignore"] });
    // Our own timer, unref'd: spawn's `timeout` option keeps the process alive when the helper is missing.
    const timer = setTimeout(() => child.kill(), HELPER_TIMEOUT_MS).unref();
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stdin.on("error", () => undefined); // EPIPE when it exits without reading: its answer says why.
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
    child.stdin.end(serverUrl);
  });
}

/**
 * A docker credential helper as a provider, asked only when a registry challenges (so a copy that
 * needs no login never runs it). "credentials not found" means anonymous access, as for docker.
 */
export function helperCredentials(helper: string, serverUrl: string): CredentialProvider {
  return async () => {
    let result: { code: number | null; stdout: string };
    try {
      result = await runHelper(helper, serverUrl);
    } catch (error) {
      throw new RegistryAuthError(
        `Your docker config names the credential helper "${helper}" for ${serverUrl}, but docker-credential-${helper} could not be run (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): install it or put it on PATH`,
      );
    }
    // The protocol's answer when there is no login for the server (stdout says so, exit status 1).
    if (result.code !== 0) {
      if (/credentials not found/i.test(result.stdout)) return undefined;
      throw new RegistryAuthError(
        `docker-credential-${helper} get failed for ${serverUrl} (exit ${result.code}): ${result.stdout.trim().slice(0, 200)}`,
      );
    }
    let answer: { Username?: unknown; Secret?: unknown };
    try {
      answer = JSON.parse(result.stdout) as typeof answer;
    } catch {
      throw new RegistryAuthError(
        `docker-credential-${helper} get answered ${serverUrl} with something that is not JSON`,
      );
    }
    if (typeof answer.Secret !== "string" || answer.Secret === "") return undefined;
    rememberSecret(answer.Secret);
    return { username: typeof answer.Username === "string" ? answer.Username : "", password: answer.Secret };
  };
}

/**
 * Registry credentials from the Docker client's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`), so `gitpod-dr copy-image` works where `docker pull` does: inline `auths`,
 * then the credential helpers (`credHelpers` per registry, `credsStore` for every login listed under
 * `auths` without an inline credential), run with docker's protocol when a registry asks for a login.
 */
export async function dockerConfigCredentials(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, CredentialProvider>> {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, "utf8")) as DockerConfig;
  } catch {
    return {};
  }
  const providers: Record<string, CredentialProvider> = {};
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const registry = registryOf(key);
    if (!registry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon >= 0)
        providers[registry] = staticCredentials(decoded.slice(0, colon), decoded.slice(colon + 1));
    } else if (config.credsStore) {
      providers[registry] = helperCredentials(config.credsStore, key);
    }
  }
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    const registry = registryOf(key);
    if (registry && helper) providers[registry] = helperCredentials(helper, key);
  }
  return providers;
}
