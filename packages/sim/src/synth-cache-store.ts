/**
 * The bundle cache's entries on disk: one immutable directory per (recipe, inputs) pair, named
 * `<recipe>.<manifest digest>`, holding `manifest.json` (every input file esbuild reported with its content
 * hash, the listing of every source directory those came from, every output file with its hash, SST's
 * build result) and `out/` (the bundle directory as SST left it, the function's id replaced by a
 * placeholder). Entries are written to a temporary directory and renamed into place, so a parallel reader
 * never sees half of one; a damaged entry (a file changed or gone) is dropped and SST builds.
 */

import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

/** Stands for the function's id (SST's construct address) in a stored bundle directory. */
const PLACEHOLDER = Buffer.from("@@gitpod-dr-synth-cache:function-id@@");

/** What SST's node handler answered for a successful build, relative to the bundle directory. */
export interface StoredBuild {
  readonly handler: string;
  /** The source map's path inside the bundle directory, when SST reported one. */
  readonly sourcemap?: string;
}

interface Manifest extends StoredBuild {
  /** Input path (relative to the project root, as esbuild's metafile names it) → sha256 of its content. */
  readonly inputs: Record<string, string>;
  /** Source directory of an input (outside node_modules) → sha256 of its sorted file names. */
  readonly listings: Record<string, string>;
  /** Every file of the stored bundle directory (relative path) → sha256 of its stored content. */
  readonly files: Record<string, string>;
}

export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

const underNodeModules = (path: string) => path.split(/[\\/]/).includes("node_modules");

/**
 * Content hashes of installed packages' files (thousands per bundle), remembered per process while a
 * file's size and mtime stay the same. Our own sources are hashed at every look-up: an edit within the
 * file system's timestamp granularity that keeps the size must still count.
 */
const packageFileHashes = new Map<string, { size: number; mtimeMs: number; hash: string }>();

/** The sha256 of a file's content, or undefined when it cannot be read (it is then no cacheable input). */
export async function fileHash(path: string): Promise<string | undefined> {
  try {
    if (!underNodeModules(path)) return sha256(await readFile(path));
    const { size, mtimeMs } = await stat(path);
    const known = packageFileHashes.get(path);
    if (known && known.size === size && known.mtimeMs === mtimeMs) return known.hash;
    const hash = sha256(await readFile(path));
    packageFileHashes.set(path, { size, mtimeMs, hash });
    return hash;
  } catch {
    return undefined;
  }
}

async function listingHash(dir: string): Promise<string | undefined> {
  try {
    return sha256((await readdir(dir)).sort().join("\n"));
  } catch {
    return undefined;
  }
}

/**
 * Records a build's inputs. Besides each input's content, the file names of every source directory an
 * input came from: a new file there may change what an import resolves to (`./dep` → `dep.tsx` before
 * `dep.ts`) without changing any input. Packages under node_modules are covered by the lockfile in the
 * recipe. Undefined when an input is not a readable file (a virtual module): such a build is not cached.
 */
async function inputsOf(
  root: string,
  inputs: readonly string[],
): Promise<Pick<Manifest, "inputs" | "listings"> | undefined> {
  const hashes: Record<string, string> = {};
  const listings: Record<string, string> = {};
  for (const input of [...inputs].sort()) {
    const hash = await fileHash(resolve(root, input));
    if (hash === undefined) return undefined;
    hashes[input] = hash;
    const dir = dirname(input);
    if (!underNodeModules(dir) && !(dir in listings)) {
      const listing = await listingHash(resolve(root, dir));
      if (listing === undefined) return undefined;
      listings[dir] = listing;
    }
  }
  return { inputs: hashes, listings };
}

/** Whether every recorded input still has its content and every recorded directory its file names. */
async function stillValid(root: string, manifest: Manifest): Promise<boolean> {
  for (const [input, hash] of Object.entries(manifest.inputs)) {
    if ((await fileHash(resolve(root, input))) !== hash) return false;
  }
  for (const [dir, hash] of Object.entries(manifest.listings)) {
    if ((await listingHash(resolve(root, dir))) !== hash) return false;
  }
  return true;
}

function replaceAll(data: Buffer, from: Buffer, to: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = data.indexOf(from); at !== -1; at = data.indexOf(from, start)) {
    parts.push(data.subarray(start, at), to);
    start = at + from.length;
  }
  if (start === 0) return data;
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function writeFileIn(dir: string, file: string, data: Buffer) {
  await mkdir(dirname(join(dir, file)), { recursive: true });
  await writeFile(join(dir, file), data);
}

/** A cache of bundle directories under `dir`, for the project at `root`. */
export class BundleStore {
  constructor(
    readonly dir: string,
    readonly root: string,
  ) {}

  /**
   * Fills `out` (empty) from a valid entry of the recipe and returns its build result, or undefined when
   * no entry is valid for the files as they are now (or one vanished while it was read).
   */
  async restore(recipe: string, functionID: string, out: string): Promise<StoredBuild | undefined> {
    for (const name of await this.entries(recipe)) {
      try {
        const entry = join(this.dir, name);
        const manifest = JSON.parse(await readFile(join(entry, "manifest.json"), "utf8")) as Manifest;
        if (!(await stillValid(this.root, manifest))) continue;
        for (const [file, hash] of Object.entries(manifest.files)) {
          const data = await readFile(join(entry, "out", file));
          if (sha256(data) !== hash) throw new Error(`${name}: ${file} is not the file stored`);
          await writeFileIn(out, file, replaceAll(data, PLACEHOLDER, Buffer.from(functionID)));
        }
        return manifest.sourcemap === undefined
          ? { handler: manifest.handler }
          : { handler: manifest.handler, sourcemap: manifest.sourcemap };
      } catch {
        // Damaged, or dropped by another process meanwhile: SST builds, and the build is stored anew.
        await rm(out, { recursive: true, force: true });
        await mkdir(out, { recursive: true });
        await this.drop(name);
      }
    }
    return undefined;
  }

  /**
   * Stores a fresh build (`out`, built from `inputs`) as the recipe's entry and drops the recipe's older
   * entries. Returns whether it was stored: not when an input is unreadable or a file already contains the
   * placeholder (the substitution could not be undone exactly).
   */
  async save(recipe: string, functionID: string, out: string, inputs: readonly string[], build: StoredBuild) {
    const recorded = await inputsOf(this.root, inputs);
    if (!recorded) return false;
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      const files: Record<string, string> = {};
      for (const file of (await filesUnder(out)).sort()) {
        const data = await readFile(join(out, file));
        if (data.includes(PLACEHOLDER)) return false;
        const stored = replaceAll(data, Buffer.from(functionID), PLACEHOLDER);
        await writeFileIn(join(tmp, "out"), file, stored);
        files[file] = sha256(stored);
      }
      const manifest: Manifest = { ...build, ...recorded, files };
      const json = JSON.stringify(manifest);
      await writeFile(join(tmp, "manifest.json"), json);
      const name = `${recipe}.${sha256(json).slice(0, 24)}`;
      for (const older of await this.entries(recipe)) {
        if (older !== name) await this.drop(older);
      }
      // An identical entry written meanwhile by another process is as good as ours.
      await rename(tmp, join(this.dir, name)).catch(() => undefined);
      return true;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The recipe's entries, newest first. */
  private async entries(recipe: string): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const mine = names.filter((n) => n.startsWith(`${recipe}.`));
    const times = await Promise.all(
      mine.map((n) =>
        stat(join(this.dir, n)).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ),
    );
    return mine
      .map((n, i) => ({ n, t: times[i] ?? 0 }))
      .sort((a, b) => b.t - a.t)
      .map((e) => e.n);
  }

  private async drop(name: string) {
    const trash = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      await rename(join(this.dir, name), trash);
      await rm(trash, { recursive: true, force: true });
    } catch {
      // Dropped by another process already.
    }
  }
}
