/**
 * Issue 18 §3: the image sync workflow as synthesized (stacks/images/workflow.ts), run locally in
 * aws-local-stepfunctions with every Task bound to the REAL handlers (image-plan, image-copy,
 * image-summarize) copying between two real registries (Debian's docker-registry).
 *
 * Locally the Distributed Map's ItemReader, ItemBatcher and ResultWriter are not run (PLATFORM.md: the
 * reader is ignored): the Plan binding reads the work list Plan wrote (the object the reader would read)
 * and batches it with the definition's own MaxItemsPerBatch, and the Map iterates those batches; its
 * output (the children's results) reaches Summarize as the array a local run gives. S3 and SNS are
 * aws-sdk-client-mock stubs over an in-memory bucket and a message list (end state asserted on them);
 * the recovery-point catalog Summarize records a complete run in is a real DynamoDB (dynalite).
 */

import type { Server } from "node:http";
import { Readable } from "node:stream";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { sdkStreamMixin } from "@smithy/util-stream";
import { StateMachine as LocalStateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import exampleConfig from "../../config/example.ts";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { imageJobConfig } from "../../packages/core/src/config/images.ts";
import { parseStageConfig, type StageConfigInput } from "../../packages/core/src/config.ts";
import {
  CATALOG_REGION,
  createCatalogTable,
  startDynalite,
} from "../../packages/sim/src/catalog/dynalite.ts";
import { lambdaContextFor } from "../../packages/sim/src/lambda.ts";
import { pushImage, randomLayer } from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import { synth } from "../../packages/sim/src/synth.ts";
import { Images } from "../../stacks/Images.ts";

const BUCKET = "gitpod-dr-image-sync-work";
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-imagesim-alerts";
const SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitpod-dr/local-AbCdEf";
const STATES: Record<string, "image-plan" | "image-copy" | "image-summarize"> = {
  Plan: "image-plan",
  "Copy images": "image-copy",
  "Copy in one task": "image-copy",
  Summarize: "image-summarize",
  "Summarize failure": "image-summarize",
};

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);
const objects = new Map<string, string>();
const published: { Subject?: string; Message?: string }[] = [];

let src: RegistryServer;
let dst: RegistryServer;
let definition: StateMachineDefinition;
let maxItemsPerBatch: number;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContextFor>) => Promise<unknown>;
let handlers: Record<string, Handler>;
let dynalite: { server: Server; raw: DynamoDBClient; store: CatalogStore };
let stage: ReturnType<typeof parseStageConfig>;

/** The handlers as the functions load them, with the image job's configuration (and catalog) in GITPOD_DR_CONFIG. */
async function loadHandlers(images = stage.images as NonNullable<typeof stage.images>) {
  const catalog = catalogConfig("imagesim", stage);
  vi.stubEnv("GITPOD_DR_CONFIG", JSON.stringify(imageJobConfig("imagesim", images, catalog)));
  vi.resetModules();
  handlers = {
    "image-plan": (await import("../../packages/functions/src/image-plan.ts")).handler as Handler,
    "image-copy": (await import("../../packages/functions/src/image-copy.ts")).handler as Handler,
    "image-summarize": (await import("../../packages/functions/src/image-summarize.ts")).handler as Handler,
  };
}

/** The definition's DefinitionString with its tokens resolved: the work bucket, fake function ARNs. */
function resolveDefinition(machine: { Properties: { DefinitionString: unknown } }): Record<string, unknown> {
  const body = machine.Properties.DefinitionString as { "Fn::Join": [string, unknown[]] } | string;
  const text =
    typeof body === "string"
      ? body
      : body["Fn::Join"][1]
          .map((part) => {
            if (typeof part === "string") return part;
            const ref = (part as { Ref?: string }).Ref;
            if (ref?.startsWith("ImageSyncWork")) return BUCKET;
            const getAtt = (part as { "Fn::GetAtt"?: string[] })["Fn::GetAtt"];
            if (getAtt) return `arn:aws:lambda:eu-west-1:123456789012:function:${getAtt[0]}`;
            return "aws";
          })
          .join("");
  return JSON.parse(text) as Record<string, unknown>;
}

type Asl = { States: Record<string, Record<string, unknown>> };

/** The Map state as a local run can run it: over the batches the Plan binding adds to its result. */
function localDefinition(asl: Asl): StateMachineDefinition {
  const map = asl.States["Copy in parallel"] as Record<string, unknown>;
  maxItemsPerBatch = (map.ItemBatcher as { MaxItemsPerBatch: number }).MaxItemsPerBatch;
  const { ItemReader: _r, ItemBatcher: _b, ResultWriter: _w, ...rest } = map;
  asl.States["Copy in parallel"] = { ...rest, ItemsPath: "$.plan.localBatches" };
  return asl as unknown as StateMachineDefinition;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  const images = {
    schedule: "rate(1 hour)",
    insecureRegistries: [src.host, dst.host],
    registries: { [dst.host]: { credentialsSecretArn: SECRET } },
    rules: [
      {
        name: "local",
        source: { registry: src.host },
        repositories: ["gitpod/server", "workspace-images"],
        destination: { registry: dst.host, repositoryPrefix: "dr/" },
      },
    ],
    // 5 images to copy: above a threshold of 4, so the Map runs (the last test raises it to 10).
    fanOut: {
      maxConcurrency: 3,
      imagesPerChild: 2,
      toleratedFailurePercentage: 0,
      threshold: { images: 4, gigabytes: 5 },
    },
  } satisfies StageConfigInput["images"];
  const config = { ...exampleConfig, images };
  const template = await synth(Images, { stage: "imagesim", config, withoutRestore: true });
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  definition = localDefinition(resolveDefinition(machine as never) as Asl);

  for (let i = 0; i < 4; i++) {
    await pushImage(src.host, "workspace-images", `build-${i}`, {
      layers: [randomLayer(200_000, { seed: i + 1 }), randomLayer(50_000, { seed: 100 })],
    });
  }
  await pushImage(src.host, "gitpod/server", "2026.12", { layers: [randomLayer(300_000, { seed: 7 })] });

  stage = parseStageConfig({ ...config, regions: { ...config.regions, dr: CATALOG_REGION } });
  const catalog = catalogConfig("imagesim", stage);
  const { server, endpoint } = await startDynalite();
  const raw = new DynamoDBClient({
    endpoint,
    region: CATALOG_REGION,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
  });
  await createCatalogTable(raw, catalog.tableName);
  dynalite = { server, raw, store: new CatalogStore(DynamoDBDocumentClient.from(raw), catalog.tableName) };

  vi.stubEnv("GITPOD_DR_STAGE", "imagesim");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", endpoint);
  vi.stubEnv("AWS_REGION", "eu-west-1");
  vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "x");
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  // Summarize's configuration (as the stack gives it): the image job's, with the catalog.
  await loadHandlers();
}, 180_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  dynalite?.raw.destroy();
  await Promise.all([
    src?.stop(),
    dst?.stop(),
    new Promise<void>((resolve) => (dynalite ? dynalite.server.close(() => resolve()) : resolve())),
  ]);
});

beforeEach(() => {
  s3.reset();
  sns.reset();
  objects.clear();
  published.length = 0;
  s3.on(PutObjectCommand).callsFake((input) => {
    objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (body === undefined) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey" });
    return { Body: sdkStreamMixin(Readable.from([Buffer.from(body)])) };
  });
  sns.on(PublishCommand).callsFake((input) => {
    published.push({ Subject: input.Subject, Message: input.Message });
    return { MessageId: `m-${published.length}` };
  });
});

interface Run {
  status: string;
  output?: unknown;
  error?: string;
  calls: { state: string; error?: string }[];
}

/** One execution; `fail(state, call)` makes that task call throw (an injected failure) instead. */
async function run(fail?: (state: string, n: number) => Error | undefined): Promise<Run> {
  const calls: Run["calls"] = [];
  const bind = (state: string) => async (raw: unknown) => {
    const n = calls.filter((c) => c.state === state).length + 1;
    const call: Run["calls"][number] = { state };
    calls.push(call);
    try {
      const injected = fail?.(state, n);
      if (injected) throw injected;
      const fn = handlers[STATES[state] as string] as Handler;
      const event = JSON.parse(JSON.stringify(raw));
      const result = JSON.parse(JSON.stringify((await fn(event, lambdaContextFor(state))) ?? null));
      if (state === "Plan") {
        // What the ItemReader would read and the ItemBatcher would make of it.
        const items = JSON.parse(objects.get(`${result.bucket}/${result.itemsKey}`) as string) as unknown[];
        const localBatches = [];
        for (let i = 0; i < items.length; i += maxItemsPerBatch) {
          localBatches.push({ Items: items.slice(i, i + maxItemsPerBatch) });
        }
        return { ...result, localBatches };
      }
      return result;
    } catch (error) {
      const e = error as Error;
      call.error = e.name;
      // As Lambda reports a function error to Step Functions: Error = errorType, Cause = the JSON.
      const lambdaError = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message }));
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
  const machine = new LocalStateMachine(definition, {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  const execution = machine.run({} as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(Object.keys(STATES).map((s) => [s, bind(s)])),
      retryIntervalOverrides: Object.fromEntries(Object.keys(STATES).map((s) => [s, 0])),
    },
    context: {
      Execution: {
        Name: `run-${Math.random().toString(36).slice(2, 8)}`,
      },
    } as never,
  });
  const result = await execution.result.then(
    (output) => ({ status: "SUCCEEDED", output }),
    (error: Error) => ({ status: "FAILED", error: error.name }),
  );
  return { ...result, calls };
}

async function digestAt(registry: RegistryServer, repo: string, tag: string): Promise<string | null> {
  const response = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return response.ok ? response.headers.get("docker-content-digest") : null;
}

const TAGS = [
  ["gitpod/server", "2026.12"],
  ["workspace-images", "build-0"],
  ["workspace-images", "build-1"],
  ["workspace-images", "build-2"],
  ["workspace-images", "build-3"],
] as const;

describe("the image sync workflow, run locally on the real handlers", () => {
  it("plans, copies in batches of the configured size, and summarizes; a second run finds everything current", async () => {
    const before = Date.now();
    const first = await run();
    const after = Date.now();

    expect(first.status).toBe("SUCCEEDED");
    // 5 images in batches of 2: three children.
    expect(first.calls.filter((c) => c.state === "Copy images")).toHaveLength(3);
    expect(first.output).toMatchObject({ totals: { copied: 5, upToDate: 0, failed: 0, deferred: 0 } });
    for (const [repo, tag] of TAGS) {
      expect(await digestAt(dst, `dr/${repo}`, tag)).toBe(await digestAt(src, repo, tag));
    }
    const plan = [...objects.keys()].find((k) => k.endsWith("/items.json")) as string;
    expect(JSON.parse(objects.get(plan) as string)).toHaveLength(5);
    expect(published).toEqual([]);

    // The complete run is a recovery point: the execution's start, and every image's destination digest.
    const [recorded] = await dynalite.store.newest("images");
    expect(recorded).toMatchObject({ tier: "images", copied: 5, upToDate: 0 });
    const startedAt = Date.parse(recorded?.startedAt as string);
    expect(startedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(startedAt).toBeLessThanOrEqual(after);
    const expected = [];
    for (const [repo, tag] of TAGS) {
      expected.push({
        source: `${src.host}/${repo}:${tag}`,
        destination: `${dst.host}/dr/${repo}:${tag}`,
        digest: await digestAt(dst, `dr/${repo}`, tag),
      });
    }
    expect(recorded?.images).toEqual(expect.arrayContaining(expected));
    expect(recorded?.images).toHaveLength(5);

    const second = await run();

    expect(second.status).toBe("SUCCEEDED");
    expect(second.output).toMatchObject({ totals: { copied: 0, upToDate: 5, failed: 0 } });
    const [newest] = await dynalite.store.newest("images");
    expect(newest).toMatchObject({ copied: 0, upToDate: 5 });
    expect(Date.parse(newest?.startedAt as string)).toBeGreaterThanOrEqual(startedAt);
    expect(newest?.recordedAt).not.toBe(recorded?.recordedAt);
  }, 120_000);

  it("retries a child that fails with a temporary error, and the run succeeds", async () => {
    const transient = () => Object.assign(new Error("503 from the registry"), { name: "Transient" });
    const result = await run((state, n) => (state === "Copy images" && n === 1 ? transient() : undefined));

    expect(result.status).toBe("SUCCEEDED");
    const copies = result.calls.filter((c) => c.state === "Copy images");
    expect(copies.map((c) => c.error)).toContain("Transient");
    expect(copies).toHaveLength(4); // three batches, one of them twice
    expect(published).toEqual([]);
  }, 120_000);

  it("fails the run with one SNS message when a child keeps failing (no failure tolerated)", async () => {
    const transient = () => Object.assign(new Error("503 from the registry"), { name: "Transient" });
    const before = await dynalite.store.newest("images");
    const result = await run((state) => (state === "Copy images" ? transient() : undefined));

    expect(result.status).toBe("FAILED");
    // An incomplete run is no recovery point: the catalog's newest entry is unchanged.
    expect(await dynalite.store.newest("images")).toEqual(before);
    expect(result.calls.map((c) => c.state)).toContain("Summarize failure");
    expect(result.calls.at(-1)).toEqual({ state: "Summarize failure", error: "ImageSyncIncomplete" });
    expect(published).toHaveLength(1);
    expect(published[0]?.Subject).toContain("image-sync failed: ImageSyncIncomplete");
    expect(published[0]?.Message).toContain("Transient");
  }, 120_000);
});

describe("at or below the threshold", () => {
  it("copies the plan's list in one task, no Map, and summarizes it like the Map's results", async () => {
    const images = stage.images as NonNullable<typeof stage.images>;
    const fanOut = images.fanOut as NonNullable<typeof images.fanOut>;
    await loadHandlers({ ...images, fanOut: { ...fanOut, threshold: { images: 10, gigabytes: 5 } } });
    await pushImage(src.host, "workspace-images", "build-4", {
      layers: [randomLayer(120_000, { seed: 44 })],
    });

    const result = await run();

    expect(result.status).toBe("SUCCEEDED");
    // The 6 images (not ECR: each is an item, its child HEADs both sides) in one invocation, no Map children.
    expect(result.calls.map((c) => c.state)).toEqual(["Plan", "Copy in one task", "Summarize"]);
    expect(result.output).toMatchObject({ totals: { copied: 1, upToDate: 5, failed: 0, deferred: 0 } });
    expect(await digestAt(dst, "dr/workspace-images", "build-4")).toBe(
      await digestAt(src, "workspace-images", "build-4"),
    );
    const [recorded] = await dynalite.store.newest("images");
    expect(recorded).toMatchObject({ tier: "images", copied: 1, upToDate: 5 });
    expect(recorded?.images).toHaveLength(6);
    expect(published).toEqual([]);
  }, 120_000);
});
