/**
 * An RPO target a newer gitpod-dr judges too short (the database tier now delivers twice its schedule's
 * gap): synth and deploy refuse the stage file, the operational commands (a restore in a disaster) warn
 * and use the tier's default target. Anything else invalid is refused by every command.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { rpoTargets } from "../../packages/core/src/config/catalog.ts";
import { loadStageConfigFile } from "../../packages/core/src/config-file.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-rpo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stage file (JSON: no transpiling needed) of the example with the given changes. */
function stageFile(name: string, changes: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...exampleConfig, ...changes }));
  return file;
}

describe("loading a stage file whose RPO target the schedule cannot meet", () => {
  const file = stageFile("old", { rpo: { database: "26h", images: "9h" } });

  it("is refused by default (synth, deploy), naming the field", async () => {
    const error = await loadStageConfigFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      "rpo.database: 26h is shorter than its schedule cron(0 3 * * ? *) can deliver (its newest copy gets up to 48h old): use more than 48h, e.g. 50h",
    ]);
  });

  it("warns and uses the tier's default target for the operational commands, keeping the other targets", async () => {
    const { stage, config, warnings } = await loadStageConfigFile(file, { rpoTooShort: "warn" });
    expect(stage).toBe("old");
    expect(warnings).toEqual([
      `${file}: rpo.database: 26h is shorter than its schedule cron(0 3 * * ? *) can deliver (its newest copy gets up to 48h old): use more than 48h, e.g. 50h (the default target is used here; synth and deploy refuse it)`,
    ]);
    expect(rpoTargets(config)).toMatchObject({ database: 50 * 3_600_000, images: 9 * 3_600_000 });
  });

  it("still refuses, with every issue, a file with any other problem", async () => {
    const bad = stageFile("bad", {
      rpo: { database: "26h" },
      regions: { primary: "eu-west-1", dr: "eu-west-1" },
    });
    const error = (await loadStageConfigFile(bad, { rpoTooShort: "warn" }).catch(
      (e: unknown) => e,
    )) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.join("\n")).toMatch(/^regions\.dr: must differ/m);
    expect(error.issues.join("\n")).toMatch(/^rpo\.database: 26h is shorter/m);
  });
});
