import { CreateRepositoryCommand, ECRClient, RepositoryAlreadyExistsException } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageJobConfig } from "../../../packages/core/src/config.ts";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import { ImageSyncIncompleteError } from "../../../packages/core/src/registry/errors.ts";
import { parseImageSyncEvent } from "../../../packages/core/src/registry/input.ts";
import { runImageSyncJob } from "../../../packages/core/src/registry/job.ts";
import { sha256Digest } from "../../../packages/core/src/registry/manifest.ts";
import { transportPool } from "../../../packages/core/src/registry/registries.ts";
import type { SyncDeps } from "../../../packages/core/src/registry/sync.ts";
import { serveEcrApi } from "./fake-ecr.ts";
import { FakeNetwork } from "./fake-network.ts";
import { FakeRegistry, ociError } from "./fake-registry.ts";

const SOURCE = "registry.internal.test";
const DEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";

const CONFIG: ImageJobConfig = {
  stage: "prod",
  images: {
    schedule: "rate(1 hour)",
    concurrency: 4,
    imageConcurrency: 2,
    registries: {},
    insecureRegistries: [],
    repositoryDefaults: { tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } },
    rules: [
      {
        name: "apps",
        source: { registry: SOURCE },
        repositories: ["app/*"],
        destination: { registry: DEST, repositoryPrefix: "dr/" },
      },
    ],
  },
};

const ecr = mockClient(ECRClient);
let network: FakeNetwork;
let src: FakeRegistry;
let dst: FakeRegistry;
/** The layer of each source image, by repository. */
let layers: Record<string, Buffer>;

beforeEach(async () => {
  ecr.reset();
  network = await FakeNetwork.start();
  src = new FakeRegistry(SOURCE, network);
  dst = new FakeRegistry(DEST, network);
  serveEcrApi(ecr, [dst]);
  layers = {};
  for (const name of ["a", "b", "c"]) {
    layers[name] = Buffer.from(`layer of app/${name} `.repeat(1000));
    src.addImage(`app/${name}`, "1", [layers[name] as Buffer], { architecture: "amd64", os: "linux", name });
  }
});
afterEach(async () => {
  await network.close();
});

function deps(): SyncDeps {
  return {
    transportFor: transportPool({
      credentials: () => undefined,
      agents: network.agents,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    }),
    ecr: (region) =>
      new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
  };
}

/** The source serves app/b's layer with one byte changed (same length): its digest check fails. */
function corruptLayerOfB() {
  const digest = sha256Digest(layers.b as Buffer);
  src.fault = (request) => {
    if (request.method !== "GET" || !request.path.endsWith(`/blobs/${digest}`)) return undefined;
    const bad = Buffer.from(layers.b as Buffer);
    bad[0] = 0x21;
    return { status: 200, body: bad, headers: { "content-length": String(bad.length) } };
  };
  return digest;
}

describe("runImageSyncJob", () => {
  it("copies every other image when one fails, then fails listing the failed image with its error", async () => {
    const badLayer = corruptLayerOfB();

    const error = await runImageSyncJob(CONFIG, deps()).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ImageSyncIncompleteError);
    const incomplete = error as ImageSyncIncompleteError;
    expect(incomplete.problems).toHaveLength(1);
    expect(incomplete.problems[0]).toMatch(
      new RegExp(
        `^${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1: BlobVerificationFailed: Blob ${badLayer} has the wrong content`,
      ),
    );
    expect(incomplete.message).toMatch(
      /^Image sync of stage prod: 1 failed \(2 copied, 0 up to date, 0 left for the next run\):\n {2}registry\.internal\.test\/app\/b:1 → /,
    );
    // The others are at the destination with the source's digests; nothing of b is.
    for (const name of ["a", "c"]) {
      expect(dst.tagDigest(`dr/app/${name}`, "1")).toBe(src.tagDigest(`app/${name}`, "1"));
    }
    expect(dst.tagDigest("dr/app/b", "1")).toBeUndefined();
    expect(dst.blobs.has(badLayer)).toBe(false);
    expect(incomplete.summary).toMatchObject({
      stage: "prod",
      copied: [`${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`, `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`],
      totals: { copied: 2, failed: 1, deferred: 0 },
    });
    expect(
      ecr
        .commandCalls(CreateRepositoryCommand)
        .map((c) => c.args[0].input.repositoryName)
        .sort(),
    ).toEqual(["dr/app/a", "dr/app/b", "dr/app/c"]);
  });

  it("copies what failed on the next run and leaves what is up to date alone", async () => {
    corruptLayerOfB();
    await runImageSyncJob(CONFIG, deps()).catch(() => undefined);
    src.fault = undefined;
    ecr
      .on(CreateRepositoryCommand)
      .rejects(
        new RepositoryAlreadyExistsException({ message: "exists", $metadata: { httpStatusCode: 400 } }),
      );
    const before = network.requests.length;

    const summary = await runImageSyncJob(CONFIG, deps());

    expect(summary.totals).toMatchObject({ copied: 1, upToDate: 2, failed: 0, deferred: 0 });
    expect(summary.copied).toEqual([`${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1`]);
    expect(summary.repositoriesCreated).toEqual([]);
    expect(dst.tagDigest("dr/app/b", "1")).toBe(src.tagDigest("app/b", "1"));
    // The up-to-date images cost one manifest HEAD on each side, no blob traffic.
    const secondRun = network.requests.slice(before);
    expect(secondRun.filter((r) => r.path.includes("/app/a/") && r.path.includes("/blobs/"))).toEqual([]);
  });

  it("leaves every copy for the next run when no copy may start, and succeeds", async () => {
    const summary = await runImageSyncJob(CONFIG, deps(), { canStart: () => false });

    expect(summary.deferred).toEqual([
      `${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`,
      `${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1`,
      `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`,
    ]);
    expect(summary.totals).toMatchObject({ copied: 0, deferred: 3, failed: 0 });
    expect(dst.requests).toEqual([]);
    // The destination repositories were made ready (ECR's API), with no image in them.
    expect([...dst.repos.values()].map((r) => r.tags.size)).toEqual([0, 0, 0]);
  });

  it("stops starting copies once the deadline says so, keeping the rest for later", async () => {
    let started = 0;
    const summary = await runImageSyncJob(
      { ...CONFIG, images: { ...CONFIG.images, imageConcurrency: 1 } },
      deps(),
      { canStart: () => started++ < 1 },
    );

    expect(summary.totals).toMatchObject({ copied: 1, deferred: 2 });
    expect(summary.copied).toEqual([`${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`]);
    expect(dst.tagDigest("dr/app/b", "1")).toBeUndefined();
  });

  it("reports what a dry run would copy without writing anything", async () => {
    dst.addImage("dr/app/a", "1", [layers.a as Buffer], { architecture: "amd64", os: "linux", name: "a" });

    const summary = await runImageSyncJob(CONFIG, deps(), { dryRun: true });

    expect(summary.dryRun).toBe(true);
    expect(summary.wouldCopy).toEqual([
      `${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1`,
      `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`,
    ]);
    expect(dst.requests.filter((r) => r.method !== "HEAD" && r.method !== "GET")).toEqual([]);
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });
});

describe("runImageSyncJob as a dry run", () => {
  /** Runs the job and returns what it rejected with; fails the test if it resolved. */
  async function rejection(config: ImageJobConfig, options: Parameters<typeof runImageSyncJob>[2]) {
    const error = await runImageSyncJob(config, deps(), options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageSyncIncompleteError);
    return error as ImageSyncIncompleteError;
  }

  it("fails naming a source image it may not read, and still lists the others", async () => {
    src.fault = (request) =>
      request.method === "HEAD" && request.path === "/v2/app/b/manifests/1"
        ? ociError(403, "DENIED", "requested access to the resource is denied")
        : undefined;

    const incomplete = await rejection(CONFIG, { dryRun: true });

    expect(incomplete.problems).toHaveLength(1);
    expect(incomplete.problems[0]).toMatch(new RegExp(`^${SOURCE}/app/b:1: `));
    expect(incomplete.problems[0]).toContain("DENIED");
    expect(incomplete.summary).toMatchObject({
      dryRun: true,
      wouldCopy: [`${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`, `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`],
    });
    expect(dst.repos.size).toBe(0);
  });

  it("fails naming a destination it may not read, instead of listing the image as one it would copy", async () => {
    dst.fault = (request) =>
      request.method === "HEAD" && request.path === "/v2/dr/app/b/manifests/1"
        ? ociError(403, "DENIED", "requested access to the resource is denied")
        : undefined;

    const incomplete = await rejection(CONFIG, { dryRun: true });

    expect(incomplete.problems).toHaveLength(1);
    expect(incomplete.problems[0]).toMatch(
      new RegExp(`^${SOURCE}/app/b:1: HEAD manifest dr/app/b:1 at ${DEST}`),
    );
    expect(incomplete.problems[0]).toContain("DENIED");
    expect(incomplete.summary).toMatchObject({
      wouldCopy: [`${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`, `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`],
    });
  });

  it("fails naming a source tag that is gone by the time it is checked", async () => {
    src.fault = (request) =>
      request.method === "HEAD" && request.path === "/v2/app/c/manifests/1"
        ? ociError(404, "MANIFEST_UNKNOWN", "manifest unknown")
        : undefined;

    const incomplete = await rejection(CONFIG, { dryRun: true });

    expect(incomplete.problems).toEqual([`${SOURCE}/app/c:1: does not exist in the source registry`]);
    expect(incomplete.summary).toMatchObject({
      wouldCopy: [`${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`, `${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1`],
    });
  });

  it("lists what it would copy by source, then destination, whatever order the checks finish in", async () => {
    // The destination holds nothing; its answers come later the earlier the image sorts.
    const delayMs: Record<string, number> = {
      "/v2/dr/app/a/manifests/1": 120,
      "/v2/dr2/app/a/manifests/1": 80,
      "/v2/dr/app/b/manifests/1": 40,
      "/v2/dr/app/c/manifests/1": 0,
    };
    const answered: string[] = [];
    network.route(DEST, async (request) => {
      if (request.path === "/v2/" || request.path === "/v2") return { status: 200, body: "{}" };
      await new Promise((resolve) => setTimeout(resolve, delayMs[request.path] ?? 0));
      answered.push(request.path);
      return ociError(404, "MANIFEST_UNKNOWN", "manifest unknown");
    });
    const config: ImageJobConfig = {
      ...CONFIG,
      images: {
        ...CONFIG.images,
        imageConcurrency: 4,
        rules: [
          ...CONFIG.images.rules,
          {
            name: "a-again",
            source: { registry: SOURCE },
            repositories: ["app/a"],
            destination: { registry: DEST, repositoryPrefix: "dr2/" },
          },
        ],
      },
    };

    const summary = await runImageSyncJob(config, deps(), { dryRun: true });

    // The checks did finish out of order…
    expect(answered).toEqual([
      "/v2/dr/app/c/manifests/1",
      "/v2/dr/app/b/manifests/1",
      "/v2/dr2/app/a/manifests/1",
      "/v2/dr/app/a/manifests/1",
    ]);
    // …and the list is sorted all the same.
    expect(summary.wouldCopy).toEqual([
      `${SOURCE}/app/a:1 → ${DEST}/dr/app/a:1`,
      `${SOURCE}/app/a:1 → ${DEST}/dr2/app/a:1`,
      `${SOURCE}/app/b:1 → ${DEST}/dr/app/b:1`,
      `${SOURCE}/app/c:1 → ${DEST}/dr/app/c:1`,
    ]);
  });
});

describe("parseImageSyncEvent", () => {
  it("accepts EventBridge's scheduled event as a real run", () => {
    const event = {
      version: "0",
      id: "0d5b2c1e-aaaa-bbbb-cccc-000000000000",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "123456789012",
      time: "2026-11-26T03:00:00Z",
      region: "eu-west-1",
      resources: ["arn:aws:events:eu-west-1:123456789012:rule/gitpod-dr-images"],
      detail: {},
    };

    expect(parseImageSyncEvent(event)).toEqual({ dryRun: false });
  });

  it.each<[unknown, boolean]>([
    [{ dryRun: true }, true],
    [{ dryRun: false }, false],
    [{}, false],
    [undefined, false],
    [null, false],
  ])("accepts the manual input %j", (event, dryRun) => {
    expect(parseImageSyncEvent(event)).toEqual({ dryRun });
  });

  it.each<[string, unknown, string]>([
    ["a mistyped field", { dry_run: true }, "dry_run"],
    ["a dryRun that is not a boolean", { dryRun: "yes" }, "dryRun: must be true or false"],
    [
      "another event source's detail-type",
      { "detail-type": "Object Created", source: "aws.s3" },
      "detail-type",
    ],
  ])("rejects %s, naming the field", (_, event, field) => {
    try {
      parseImageSyncEvent(event);
      expect.unreachable("parseImageSyncEvent accepted the input");
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).name).toBe("InvalidInput");
      expect((error as InvalidInputError).message).toContain(field);
      expect((error as InvalidInputError).issues.join("\n")).toContain(field);
    }
  });
});
