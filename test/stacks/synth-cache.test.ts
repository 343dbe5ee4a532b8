import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { getStack, Function as SstFunction, type StackContext } from "sst/constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newApp } from "../../packages/sim/src/synth.ts";
import { bundleCacheStats } from "../../packages/sim/src/synth-cache.ts";

/** A handler inside the project (SST's npm step needs the project's package.json above it). */
const SOURCES = join(".sst", "synth-cache-test", String(process.pid));
let cache: string;
let probes: SstFunction[] = [];

/** Two functions of one handler: the second's bundle directory differs from the first's only by its id. */
function Probe({ stack }: StackContext) {
  probes = ["Probe", "Twin"].map(
    (id) => new SstFunction(stack, id, { handler: `${SOURCES}/handler.handler` }),
  );
}

interface Synthesized {
  /** The whole template, as JSON. */
  readonly template: string;
  /** The first function's code location: the asset hash of its bundle directory. */
  readonly s3Key: string;
  /** Every file SST left in the first function's bundle directory, by path. */
  readonly files: Record<string, string>;
  /** The same of the second function. */
  readonly twinFiles: Record<string, string>;
}

async function filesIn(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const e of entries.filter((f) => f.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(e.parentPath, e.name);
    files[relative(dir, path)] = await readFile(path, "utf8");
  }
  return files;
}

/** Synthesizes the probe function's stack with the cache at `cacheDir` (or off). */
async function synthProbe(cacheDir: string): Promise<Synthesized> {
  process.env.GITPOD_DR_SYNTH_CACHE = cacheDir;
  const app = await newApp("synthcache");
  app.stack(Probe);
  await app.finish();
  const template = Template.fromStack(getStack(Probe)).toJSON();
  type Resource = { Type: string; Properties: { Handler?: string; Code: { S3Key: string } } };
  const fn = Object.values(template.Resources as Record<string, Resource>)
    .filter(
      (r) => r.Type === "AWS::Lambda::Function" && r.Properties.Handler === `${SOURCES}/handler.handler`,
    )
    .map((r) => r.Properties.Code.S3Key);
  expect(fn).toHaveLength(2);
  const [files, twinFiles] = await Promise.all(
    probes.map((p) => filesIn(join(".sst", "artifacts", p.node.addr))),
  );
  return {
    template: JSON.stringify(template),
    s3Key: fn[0] as string,
    files: files ?? {},
    twinFiles: twinFiles ?? {},
  };
}

const bundleOf = (s: Synthesized) =>
  Object.entries(s.files).find(([path]) => path.endsWith("handler.mjs"))?.[1] ?? "no bundle";

const setSources = async (files: Record<string, string | undefined>) => {
  for (const [name, text] of Object.entries(files)) {
    if (text === undefined) await rm(join(SOURCES, name), { force: true });
    else await writeFile(join(SOURCES, name), text);
  }
};

const dep = (version: string) => `export const version = "probe-version-${version}";\n`;

describe("the synthesis bundle cache", () => {
  const saved = process.env.GITPOD_DR_SYNTH_CACHE;

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "gitpod-dr-synth-cache-"));
    await mkdir(SOURCES, { recursive: true });
    await setSources({
      "handler.ts": 'import { version } from "./dep";\nexport const handler = async () => version;\n',
      "dep.ts": dep("v1"),
    });
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env.GITPOD_DR_SYNTH_CACHE;
    else process.env.GITPOD_DR_SYNTH_CACHE = saved;
    await rm(SOURCES, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it("serves a second synthesis from the cache with the very files and template SST builds", async () => {
    const uncached = await synthProbe("off");
    const before = bundleCacheStats();
    const first = await synthProbe(cache);
    const second = await synthProbe(cache);
    const after = bundleCacheStats();

    // Four builds: the first is SST's (the twin's too when SST builds in parallel), the second synthesis's hit.
    expect(after.misses - before.misses).toBeGreaterThanOrEqual(1);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(2);
    expect(after.misses + after.hits - before.misses - before.hits).toBe(4);
    expect(after.stored - before.stored).toBe(after.misses - before.misses);
    expect(bundleOf(uncached)).toContain("probe-version-v1");
    // The bundle, SST's package.json and npm's lockfile (which names the function's id), byte for byte.
    expect(Object.keys(uncached.files)).toEqual(
      expect.arrayContaining(["package.json", "package-lock.json", `${SOURCES}/handler.mjs`]),
    );
    expect(uncached.twinFiles["package-lock.json"]).toContain(probes[1]?.node.addr);
    for (const cached of [first, second]) {
      expect(cached.files).toEqual(uncached.files);
      expect(cached.twinFiles).toEqual(uncached.twinFiles);
    }
    expect(second.template).toBe(uncached.template);
    expect(first.template).toBe(uncached.template);
  });

  it("rebuilds when an imported source changes or a new file changes what an import resolves to", async () => {
    const v1 = await synthProbe(cache);
    expect(bundleOf(v1)).toContain("probe-version-v1");

    await setSources({ "dep.ts": dep("v2") });
    let before = bundleCacheStats();
    const v2 = await synthProbe(cache);
    expect(bundleCacheStats().misses - before.misses).toBeGreaterThanOrEqual(1);
    expect(bundleOf(v2)).toContain("probe-version-v2");
    expect(bundleOf(v2)).not.toContain("probe-version-v1");
    expect(v2.s3Key).not.toBe(v1.s3Key);

    // esbuild tries .tsx before .ts: no input changed, yet `./dep` is another file now.
    await setSources({ "dep.tsx": dep("v3") });
    before = bundleCacheStats();
    const v3 = await synthProbe(cache);
    expect(bundleCacheStats().misses - before.misses).toBeGreaterThanOrEqual(1);
    expect(bundleOf(v3)).toContain("probe-version-v3");
    expect(v3.s3Key).not.toBe(v2.s3Key);

    // Back to the first sources: the first bundle and code location again.
    await setSources({ "dep.tsx": undefined, "dep.ts": dep("v1") });
    const again = await synthProbe(cache);
    expect(again.s3Key).toBe(v1.s3Key);
    expect(again.template).toBe(v1.template);
    before = bundleCacheStats();
    expect((await synthProbe(cache)).s3Key).toBe(v1.s3Key);
    expect(bundleCacheStats().hits - before.hits).toBe(2);
  });

  it("builds as SST does when an entry is damaged: a stored file changed or gone, a manifest cut short", async () => {
    const good = await synthProbe(cache);
    const damages: ((entry: string) => Promise<void>)[] = [
      (entry) => rm(join(entry, "out", "package-lock.json")),
      (entry) => writeFile(join(entry, "out", SOURCES, "handler.mjs"), "export const handler = 1;\n"),
      (entry) => writeFile(join(entry, "manifest.json"), "{"),
    ];
    for (const damage of damages) {
      const entries = (await readdir(cache)).filter((name) => !name.startsWith("."));
      expect(entries).toHaveLength(1);
      await damage(join(cache, entries[0] as string));
      const before = bundleCacheStats();
      const rebuilt = await synthProbe(cache);
      expect(bundleCacheStats().misses - before.misses).toBeGreaterThanOrEqual(1);
      expect(rebuilt.files).toEqual(good.files);
      expect(rebuilt.twinFiles).toEqual(good.twinFiles);
      expect(rebuilt.template).toBe(good.template);
    }
  });
});
