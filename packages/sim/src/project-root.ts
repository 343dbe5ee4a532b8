import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project's root directory (the one whose package.json is named "gitpod-dr"), found from `from`
 * upwards. The simulation reads files of the project (deploy/rbac.yaml, config/example.ts) from the
 * source tree and from the CLI's bundle (packages/cli/dist), which sit at different depths below it.
 * @throws Error when no such directory is above `from`.
 */
export function projectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "gitpod-dr"
    )
      return dir;
    if (dirname(dir) === dir) throw new Error(`no gitpod-dr project directory above ${from}`);
  }
}
