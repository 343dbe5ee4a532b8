import { Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { synthApp } from "../../packages/sim/src/synth.ts";

/**
 * The example stage's synthesized templates, every stack, kept as a file snapshot. A change to the
 * stacks that alters a resource, a logical ID, an IAM statement or the state machine graph shows here
 * as a diff to review; a pure restructuring leaves the file untouched. Only the bundles' content hashes
 * (asset S3 keys and the like) are masked: they change whenever any handler's code changes.
 */
async function templates(region: string, kind: "primary" | "standby"): Promise<Record<string, unknown>> {
  const stage = kind === "primary" ? "example" : "example-standby";
  const app = await synthApp({ stage, config: exampleConfig, region, kind });
  const out: Record<string, unknown> = {};
  for (const child of app.node.children) {
    if (!(child instanceof Stack)) continue;
    out[child.stackName] = app.synth().getStackByName(child.stackName).template;
  }
  return out;
}

const HASH = /\b[0-9a-f]{64}\b/g;

function normalize(value: unknown): string {
  return `${JSON.stringify(value, null, 1).replace(HASH, "<asset-hash>")}\n`;
}

describe("the example stage's templates", () => {
  it("are those of the reviewed snapshot (primary region)", async () => {
    const primary = await templates("eu-west-1", "primary");
    await expect(normalize(primary)).toMatchFileSnapshot("__snapshots__/example-primary.templates.json");
  }, 300_000);

  it("are those of the reviewed snapshot (restore standby in the DR region)", async () => {
    const standby = await templates("eu-central-1", "standby");
    await expect(normalize(standby)).toMatchFileSnapshot("__snapshots__/example-standby.templates.json");
  }, 300_000);
});
