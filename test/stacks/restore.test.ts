import { writeFileSync } from "node:fs";
import { parseStageConfig } from "@gitpod-dr/core/config";
import { Template } from "aws-cdk-lib/assertions";
import { App, getStack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { addStacks } from "../../stacks/index.ts";
import { Restore } from "../../stacks/Restore.ts";

it("dump", async () => {
  await initProject({ stage: "restoredump" });
  const app = new App({ mode: "deploy", name: "gitpod-dr", account: "123456789012", region: "eu-west-1", stage: "restoredump" });
  addStacks(app, parseStageConfig(exampleConfig));
  await app.finish();
  const t = Template.fromStack(getStack(Restore));
  writeFileSync("/tmp/restore-template.json", JSON.stringify(t.toJSON(), null, 1));
  expect(t).toBeDefined();
}, 120_000);
