import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { type CredentialProvider, staticCredentials } from "@gitpod-dr/core/registry/auth";
import { DOCKER_HUB, parseRegistryHost } from "@gitpod-dr/core/registry/reference";

/**
 * Registry credentials from the Docker client's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`), so `gitpod-dr copy-image` works where `docker pull` does. Only the inline
 * `auths` entries are read; credential helpers (`credsStore`) are not run.
 */
export async function dockerConfigCredentials(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, CredentialProvider>> {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return {};
  }
  let auths: Record<string, { auth?: string }> = {};
  try {
    auths = (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
  } catch {
    return {};
  }
  const providers: Record<string, CredentialProvider> = {};
  for (const [key, entry] of Object.entries(auths)) {
    if (!entry.auth) continue;
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) continue;
    const host = key.replace(/^https?:\/\//, "").split("/")[0] as string;
    const registry = host === "index.docker.io" || host === "docker.io" ? DOCKER_HUB : host;
    try {
      providers[parseRegistryHost(registry)] = staticCredentials(
        decoded.slice(0, colon),
        decoded.slice(colon + 1),
      );
    } catch {
      // An entry for something that is not a registry host: ignore it, as docker does.
    }
  }
  return providers;
}
