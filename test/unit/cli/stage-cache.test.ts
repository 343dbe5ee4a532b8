import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, ROOT, runBin } from "../../fixtures/cli-bin.ts";

/** A stage file with types in it (an `import type`, annotations) and no images section. */
const stageText = (
  dr: string,
) => `import type { StageConfigInput } from "${ROOT}/packages/core/src/config.ts";

const dr: string = "${dr}";
const config: StageConfigInput = {
  database: { identifier: "gitpod-db" },
  regions: { primary: "eu-west-1", dr },
  dr: { kmsKeyArn: \`arn:aws:kms:\${dr}:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13\` },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
};
export default config;
`;

describe("stage files through the stripped-module cache (the bin)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitpod-dr-stage-cache-"));
    await buildCli();
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("keeps an unchanged stage file stripped and serves it from there; a changed one is read afresh", async () => {
    const cache = join(dir, "cache");
    const stages = join(cache, "stages");
    const stage = join(dir, "lab.ts");
    const env = { GITPOD_DR_CACHE_DIR: cache };
    const syncImages = () => runBin(["sync-images", "--config", stage], { env });
    await writeFile(stage, stageText("eu-central-1"));

    const first = await syncImages();
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(`${stage} has no "images" section`);
    expect(first.stderr).not.toMatch(/Warning/);
    // The bin's V8 compile cache goes beside it.
    expect((await readdir(cache)).sort()).toEqual(["stages", "v8"]);
    const [entry, ...others] = await readdir(stages);
    expect(others).toEqual([]);
    const stripped = await readFile(join(stages, entry as string), "utf8");
    // Types blanked out in place, so positions in a stack trace are the file's own.
    expect(stripped).not.toMatch(/StageConfigInput|: string/);
    expect(stripped.length).toBe(stageText("eu-central-1").length);
    expect(stripped).toContain('const dr         = "eu-central-1";');

    // The next run reads the cached module: an entry altered in place is what it validates.
    await writeFile(join(stages, entry as string), stripped.replace('"eu-central-1"', '"eu-west-1"'));
    const hit = await syncImages();
    expect(hit.code).toBe(2);
    expect(hit.stderr).toContain("regions.dr: must differ from regions.primary (eu-west-1)");

    // A changed stage file is another entry: never an older file's module.
    await writeFile(stage, stageText("eu-north-1"));
    const changed = await syncImages();
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain(`${stage} has no "images" section`);
    expect(await readdir(stages)).toHaveLength(2);
  }, 60_000);

  it("runs nothing from a cache others can write to: its entries are the user's own, 0600 in a 0700 directory", async () => {
    const cache = join(dir, "shared");
    const stages = join(cache, "stages");
    const stage = join(dir, "shared-lab.ts");
    const env = { GITPOD_DR_CACHE_DIR: cache };
    const syncImages = () => runBin(["sync-images", "--config", stage], { env });
    await writeFile(stage, stageText("eu-central-1"));
    expect((await syncImages()).code).toBe(2);
    const [entry] = await readdir(stages);
    const path = join(stages, entry as string);
    expect((await stat(stages)).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    // Someone else's code under the stage file's key: a writable entry is not run, the file is read.
    const planted = (await readFile(path, "utf8")).replace('"eu-central-1"', '"eu-west-1"');
    await writeFile(path, planted);
    await chmod(path, 0o666);
    const entryWritable = await syncImages();
    expect(entryWritable.stderr).toContain(`${stage} has no "images" section`);
    // ...and replaced by the file's own stripped module, the user's again.
    expect(await readFile(path, "utf8")).not.toBe(planted);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // Nor from a directory others can write to.
    await writeFile(path, planted);
    await chmod(stages, 0o777);
    const dirWritable = await syncImages();
    expect(dirWritable.stderr).toContain(`${stage} has no "images" section`);
    // Trusted again: the entry is what runs (the planted region, proving the check above is the reason).
    await chmod(stages, 0o700);
    expect((await syncImages()).stderr).toContain("regions.dr: must differ from regions.primary (eu-west-1)");
  }, 60_000);
});
