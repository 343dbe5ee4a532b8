import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import module from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Stage files are TypeScript, and Node (≥ 22.18) strips their types itself. But its stripper (amaro, swc
 * built to WebAssembly) costs every start that loads a stage file 60-100 ms on the build machine
 * (2026-12-03, `node --cpu-prof` of `gitpod-dr sync-images`: 80 of its ~300 ms of start-up), which is
 * more than the rest of a warm `sync-images` start. So the stripped module is kept in a cache addressed
 * by the file's content and Node's version: an unchanged stage file is imported from there, under its
 * own URL (its relative imports and stack positions stay its own: type stripping keeps positions).
 *
 * Only ES modules that Node could strip are cached; anything else (CommonJS, syntax that needs a
 * transpiler, a cache that cannot be written) goes the way it went without the cache.
 */

/** Stage file URL → the cache directory its stripped module goes to. */
const cached = new Map<string, string>();
let registered = false;

/**
 * Serves `file` from the stripped-module cache under `cacheDir` from now on, in this process. Does
 * nothing where Node does not strip types itself or has no synchronous module hooks (Node < 22.15).
 */
export function cacheStrippedStage(file: string, cacheDir: string): void {
  const hooks = module as typeof module & { registerHooks?: (hooks: object) => unknown };
  if (!(process.features as { typescript?: unknown }).typescript || !hooks.registerHooks) return;
  if (!/\.(ts|mts)$/.test(file)) return;
  cached.set(pathToFileURL(file).href, cacheDir);
  if (registered) return;
  registered = true;
  hooks.registerHooks({ load });
}

interface LoadResult {
  format?: string | null | undefined;
  source?: string | ArrayBuffer | NodeJS.TypedArray | null | undefined;
  shortCircuit?: boolean;
}

function load(url: string, context: object, nextLoad: (url: string, context?: object) => LoadResult) {
  const dir = cached.get(url);
  if (!dir) return nextLoad(url, context);
  let source: Buffer;
  let entry: string;
  try {
    source = readFileSync(fileURLToPath(url));
    const key = createHash("sha256").update(`${process.version}\0`).update(source).digest("hex");
    entry = join(dir, `${key}.mjs`);
  } catch {
    return nextLoad(url, context); // Node reports the unreadable file as it always does
  }
  if (!trusted(dir)) return nextLoad(url, context);
  try {
    if (trusted(entry, false))
      return { format: "module", source: readFileSync(entry, "utf8"), shortCircuit: true };
  } catch {
    // Not cached yet: Node loads it, and its stripped form is kept for the next start.
  }
  const result = nextLoad(url, context);
  if (result.format !== "module-typescript" || result.source == null) return result;
  try {
    // The bytes the key was made of (not Node's second read, which a concurrent edit could change).
    const stripped = stripTypes(source.toString("utf8"));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(dir)) return result;
    const partial = `${entry}.${process.pid}.tmp`;
    writeFileSync(partial, stripped, { mode: 0o600 });
    renameSync(partial, entry); // whole or absent, also with two runs at once
    return { format: "module", source: stripped, shortCircuit: true };
  } catch {
    // Syntax Node cannot strip fails as it did without the cache; a read-only cache just stays empty.
    return result;
  }
}

/**
 * Whether a cache directory or entry may be run from: owned by this user and writable by no one else. A
 * cache another local user can write to (GITPOD_DR_CACHE_DIR=/tmp/…) could hold code of theirs under
 * the key of a committed stage file, run with this user's AWS credentials. A missing path counts as
 * trusted when `missingOk` (nothing to run yet). Where there are no user ids (Windows) it is trusted.
 */
function trusted(path: string, missingOk = true): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return true;
  try {
    const stat = statSync(path);
    return stat.uid === uid && (stat.mode & 0o022) === 0;
  } catch {
    return missingOk;
  }
}

/**
 * `module.stripTypeScriptTypes`, the stripper Node itself runs (already loaded by the `nextLoad` that
 * precedes it), without its "experimental" warning: the user has nothing to act on.
 */
function stripTypes(source: string): string {
  const strip = (module as unknown as { stripTypeScriptTypes: (code: string) => string })
    .stripTypeScriptTypes;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type !== "ExperimentalWarning") (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return strip(source);
  } finally {
    process.emitWarning = emitWarning;
  }
}
