import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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
  try {
    return { format: "module", source: readFileSync(entry, "utf8"), shortCircuit: true };
  } catch {
    // Not cached yet: Node loads it, and its stripped form is kept for the next start.
  }
  const result = nextLoad(url, context);
  if (result.format !== "module-typescript" || result.source == null) return result;
  try {
    // The bytes the key was made of (not Node's second read, which a concurrent edit could change).
    const stripped = stripTypes(source.toString("utf8"));
    mkdirSync(dir, { recursive: true });
    const partial = `${entry}.${process.pid}.tmp`;
    writeFileSync(partial, stripped);
    renameSync(partial, entry); // whole or absent, also with two runs at once
    return { format: "module", source: stripped, shortCircuit: true };
  } catch {
    // Syntax Node cannot strip fails as it did without the cache; a read-only cache just stays empty.
    return result;
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
