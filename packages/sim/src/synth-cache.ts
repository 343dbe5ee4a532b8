/**
 * A content-keyed cache of the handler bundles SST v2 builds at `app.finish()`.
 *
 * In deploy mode SST's node handler bundles every Function with esbuild and then runs `npm install` in the
 * bundle directory (`.sst/artifacts/<function id>`), one function after the other on a 2-core machine: most
 * of a synthesis. The bundle depends only on the handler, the bundling options and the files esbuild read,
 * so this wraps that handler's `build`: a recipe (handler, runtime, architecture, the `nodejs` options with
 * plugins by their source text, SST's and its esbuild's versions, npm's version, the lockfile, the
 * package.json and tsconfig.json files, the working directory) names candidate entries; an entry is used
 * only while every input file it recorded (esbuild's metafile) has the same content and every source
 * directory those came from the same file names. Otherwise SST builds as always and the result is stored.
 * A hit writes the same files SST would have written, so templates (asset hashes) are unchanged.
 *
 * The only SST surface is `useRuntimeHandlers().for(runtime).build`, whose input and result are SST's.
 * Location: GITPOD_DR_SYNTH_CACHE (a directory, or `off`), default node_modules/.cache/gitpod-dr-synth.
 */

import { readdir, readFile, realpath } from "node:fs/promises";
import { createRequire } from "node:module";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import type { FunctionProps } from "sst/constructs";
import { useRuntimeHandlers } from "sst/runtime/handlers.js";
import { BundleStore, fileHash, sha256 } from "./synth-cache-store.ts";

/** Bump when the recipe changes meaning (an entry of another layout fails its checks and is dropped). */
const FORMAT = 1;

type NodeHandler = ReturnType<ReturnType<typeof useRuntimeHandlers>["for"]>;
type BuildInput = Parameters<NodeHandler["build"]>[0];
type BuildResult = Awaited<ReturnType<NodeHandler["build"]>>;
type Plugin = NonNullable<NonNullable<NonNullable<FunctionProps["nodejs"]>["esbuild"]>["plugins"]>[number];

/** Counts of this process's cached builds: hits, misses (built by SST), and misses stored for next time. */
export interface BundleCacheStats {
  hits: number;
  misses: number;
  stored: number;
}

const stats: BundleCacheStats = { hits: 0, misses: 0, stored: 0 };
export const bundleCacheStats = (): BundleCacheStats => ({ ...stats });

/** The cache directory for a project: GITPOD_DR_SYNTH_CACHE, or undefined when that says `off`. */
export function bundleCacheDir(root: string = process.cwd()): string | undefined {
  const setting = process.env.GITPOD_DR_SYNTH_CACHE;
  if (setting === "off") return undefined;
  return setting ? resolve(root, setting) : join(root, "node_modules", ".cache", "gitpod-dr-synth");
}

let store: BundleStore | undefined;
const wrapped = new WeakSet<NodeHandler>();

/**
 * Serves SST's node bundles from the cache in `dir` from now on in this process (undefined: builds as
 * SST does). Call after `initProject`. esbuild names its inputs relative to the working directory, which is
 * therefore the project's base here.
 */
export function useBundleCache(dir: string | undefined = bundleCacheDir()): void {
  store = dir === undefined ? undefined : new BundleStore(dir, process.cwd());
  const node = useRuntimeHandlers().for("nodejs22.x");
  if (wrapped.has(node)) return;
  wrapped.add(node);
  const build = node.build;
  node.build = (input) => cachedBuild(build, input);
}

async function cachedBuild(build: NodeHandler["build"], input: BuildInput): Promise<BuildResult> {
  const cache = store;
  if (!cache || input.mode !== "deploy") return build(input);
  const recipe = await recipeOf(cache.root, input.props);
  const hit = await cache.restore(recipe, input.functionID, input.out);
  if (hit) {
    stats.hits++;
    const sourcemap = hit.sourcemap === undefined ? {} : { sourcemap: join(input.out, hit.sourcemap) };
    return { type: "success", handler: hit.handler, ...sourcemap };
  }
  stats.misses++;
  let inputs: string[] | undefined;
  const recorder: Plugin = {
    name: "gitpod-dr-synth-cache-inputs",
    setup(esbuild) {
      esbuild.onEnd((result) => {
        inputs = result.metafile ? Object.keys(result.metafile.inputs) : undefined;
      });
    },
  };
  const nodejs = input.props.nodejs ?? {};
  const esbuild = { ...nodejs.esbuild, plugins: [...(nodejs.esbuild?.plugins ?? []), recorder] };
  const result = await build({ ...input, props: { ...input.props, nodejs: { ...nodejs, esbuild } } });
  if (result.type === "success" && inputs) {
    // SST names the source map relative to esbuild's working directory.
    const sourcemap =
      result.sourcemap === undefined
        ? {}
        : { sourcemap: relative(input.out, resolve(cache.root, result.sourcemap)) };
    if (
      await cache.save(recipe, input.functionID, input.out, inputs, { handler: result.handler, ...sourcemap })
    ) {
      stats.stored++;
    }
  }
  return result;
}

/** What SST's node handler reads of a function's props, with functions and patterns by their source text. */
async function recipeOf(root: string, props: FunctionProps): Promise<string> {
  const { handler, runtime, architecture, nodejs } = props;
  const described = JSON.stringify(
    [FORMAT, root, await toolchain(root), handler, runtime, architecture, nodejs],
    (_, v) => (typeof v === "function" || v instanceof RegExp ? `${typeof v}:${String(v)}` : v),
  );
  return sha256(described).slice(0, 32);
}

const toolchains = new Map<string, Promise<string>>();

/** The versions and project files every bundle of the project depends on, once per process. */
function toolchain(root: string): Promise<string> {
  let known = toolchains.get(root);
  if (!known) {
    known = describeToolchain(root);
    toolchains.set(root, known);
  }
  return known;
}

async function describeToolchain(root: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const sst = require.resolve("sst/package.json");
  const esbuild = createRequire(sst).resolve("esbuild/package.json");
  const version = async (pkg: string) =>
    (JSON.parse(await readFile(pkg, "utf8")) as { version: string }).version;
  const packages = await readdir(join(root, "packages")).catch(() => [] as string[]);
  const files = [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    ...packages.flatMap((p) => [join("packages", p, "package.json"), join("packages", p, "tsconfig.json")]),
  ];
  const hashes = await Promise.all(files.map(async (f) => `${f}=${(await fileHash(join(root, f))) ?? "-"}`));
  return [
    `sst@${await version(sst)}`,
    `esbuild@${await version(esbuild)}`,
    await npmVersion(),
    ...hashes,
  ].join("\n");
}

/** The npm SST's `npm install` runs: the first on PATH, by its package's version (else its real path). */
async function npmVersion(): Promise<string> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    let bin: string;
    try {
      bin = await realpath(join(dir, "npm"));
    } catch {
      continue;
    }
    try {
      const pkg = JSON.parse(await readFile(join(dirname(bin), "..", "package.json"), "utf8")) as {
        version: string;
      };
      return `npm@${pkg.version}`;
    } catch {
      return `npm at ${bin}`;
    }
  }
  return "npm not found";
}
