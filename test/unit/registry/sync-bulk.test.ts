/**
 * Issue 18 §2: between ECR registries, the sync compares digests read in bulk (DescribeImages on the
 * source while planning, ListImages on the destination) before touching the registry API. A warm
 * re-sync of N unchanged tags costs at most N/100 + 10 ECR API calls and no registry request. The ECR
 * API is aws-sdk-client-mock answering from the fake registries' contents (fake-ecr.ts), so the API and
 * the registries agree as in ECR; the copies are real (the engine over the fake network).
 */
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListImagesCommand,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EcrRepositorySettings } from "../../../packages/core/src/registry/ecr.ts";
import { transportPool } from "../../../packages/core/src/registry/registries.ts";
import { type SyncDeps, type SyncRule, syncImages } from "../../../packages/core/src/registry/sync.ts";
import { serveEcrApi } from "./fake-ecr.ts";
import { FakeNetwork } from "./fake-network.ts";
import { FakeRegistry } from "./fake-registry.ts";

const ACCOUNT = "123456789012";
const SOURCE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const SETTINGS: EcrRepositorySettings = {
  tagMutability: "MUTABLE",
  scanOnPush: false,
  encryption: { type: "AES256" },
};
const RULE: SyncRule = {
  name: "gitpod",
  source: { registry: SOURCE },
  repositories: ["gitpod/*", "workspace-images"],
  destination: { registry: DEST, repositoryPrefix: "dr/" },
};

const ecr = mockClient(ECRClient);
let network: FakeNetwork;
let src: FakeRegistry;
let dst: FakeRegistry;

beforeEach(async () => {
  ecr.reset();
  network = await FakeNetwork.start();
  src = new FakeRegistry(SOURCE, network);
  dst = new FakeRegistry(DEST, network);
  serveEcrApi(ecr, [src, dst]);
});
afterEach(async () => {
  await network.close();
});

function deps(): SyncDeps {
  return {
    transportFor: transportPool({ credentials: () => undefined, agents: network.agents }),
    ecr: (region) =>
      new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
  };
}

/** Seeds `registry` with `count` workspace images (one small layer each) and two Gitpod images. */
function seed(registry: FakeRegistry, count: number, prefix = "") {
  for (let i = 0; i < count; i++) {
    registry.addImage(`${prefix}workspace-images`, `build-${i}`, [Buffer.from(`workspace layer ${i}`)]);
  }
  registry.addImage(`${prefix}gitpod/server`, "2026.12", [Buffer.from("server layer")]);
  registry.addImage(`${prefix}gitpod/proxy`, "2026.12", [Buffer.from("proxy layer")]);
}

/** ECR API calls made while `run` runs, by command name. */
async function apiCalls<T>(run: () => Promise<T>): Promise<{ value: T; calls: string[] }> {
  const before = ecr.calls().length;
  const value = await run();
  const calls = ecr
    .calls()
    .slice(before)
    .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
  return { value, calls };
}

describe("a sync between ECR registries", () => {
  it("copies on the first run, then re-syncs unchanged tags with the ECR API alone", async () => {
    seed(src, 40);
    const cold = await syncImages([RULE], deps(), { repositorySettings: SETTINGS });
    expect(cold.problems).toEqual([]);
    expect(cold.totals).toMatchObject({ copied: 42, upToDate: 0, failed: 0 });
    expect(cold.repositoriesCreated).toEqual([
      `${DEST}/dr/gitpod/proxy`,
      `${DEST}/dr/gitpod/server`,
      `${DEST}/dr/workspace-images`,
    ]);
    const requestsBefore = network.requests.length;

    const warm = await apiCalls(() => syncImages([RULE], deps(), { repositorySettings: SETTINGS }));

    expect(warm.value.problems).toEqual([]);
    expect(warm.value.totals).toMatchObject({ copied: 0, upToDate: 42, failed: 0, bytesMoved: 0 });
    // Each report carries the digest now at the destination: the source's.
    for (const report of warm.value.images) {
      const [repo, tag] = report.source.slice(SOURCE.length + 1).split(":") as [string, string];
      expect(report.digest).toBe(src.tagDigest(repo, tag));
      expect(dst.tagDigest(`dr/${repo}`, tag)).toBe(report.digest);
    }
    // Not one registry request (not even for a token); the ECR API: 1 listing of the source's
    // repositories, 1 DescribeImages per source repository, 1 ListImages per destination repository.
    expect(network.requests.slice(requestsBefore)).toEqual([]);
    expect(warm.calls.sort()).toEqual([
      "DescribeImagesCommand",
      "DescribeImagesCommand",
      "DescribeImagesCommand",
      "DescribeRepositoriesCommand",
      "ListImagesCommand",
      "ListImagesCommand",
      "ListImagesCommand",
    ]);
  });

  it("re-syncs 2,500 unchanged tags in at most N/100 + 10 API calls, paging by 1,000", async () => {
    const N = 2_500;
    seed(src, N);
    seed(dst, N, "dr/"); // the state a previous run left: the same images, the same digests

    const warm = await apiCalls(() => syncImages([RULE], deps(), { repositorySettings: SETTINGS }));

    expect(warm.value.totals).toMatchObject({ copied: 0, upToDate: N + 2, failed: 0 });
    expect(network.requests).toEqual([]);
    expect(warm.calls.length).toBeLessThanOrEqual((N + 2) / 100 + 10);
    // 3 pages of the workspace images on each side, 1 for each Gitpod repository, 1 repository listing.
    expect(warm.calls.length).toBe(3 + 3 + 2 + 2 + 1);
    expect(ecr.commandCalls(CreateRepositoryCommand)).toEqual([]);
  });

  it("copies only the tags that moved or are new, and a dry run names them without a registry request", async () => {
    seed(src, 20);
    seed(dst, 20, "dr/");
    // build-3 rebuilt (the tag moved to a new image), build-20 new.
    src.addImage("workspace-images", "build-3", [Buffer.from("workspace layer 3, rebuilt")]);
    src.addImage("workspace-images", "build-20", [Buffer.from("workspace layer 20")]);

    const dry = await syncImages([RULE], deps(), { repositorySettings: SETTINGS, dryRun: true });
    expect(dry.wouldCopy.map((c) => c.source.tag)).toEqual(["build-20", "build-3"]);
    expect(network.requests).toEqual([]);

    const run = await syncImages([RULE], deps(), { repositorySettings: SETTINGS });

    expect(run.problems).toEqual([]);
    expect(run.totals).toMatchObject({ copied: 2, upToDate: 21, failed: 0 });
    for (const tag of ["build-3", "build-20"]) {
      expect(dst.tagDigest("dr/workspace-images", tag)).toBe(src.tagDigest("workspace-images", tag));
    }
    // Registry requests only for the two images copied (by tag, then by digest).
    const copied = ["build-3", "build-20"];
    const refs = new Set([...copied, ...copied.map((tag) => src.tagDigest("workspace-images", tag))]);
    const manifestRefs = network.requests
      .filter((r) => r.path.includes("/manifests/"))
      .map((r) => r.path.split("/manifests/")[1]);
    expect(manifestRefs.length).toBeGreaterThan(0);
    expect(manifestRefs.filter((ref) => !refs.has(ref))).toEqual([]);
  });

  it("creates a destination repository ListImages does not find, and lists it on the next run", async () => {
    seed(src, 1);
    await syncImages([RULE], deps(), { repositorySettings: SETTINGS });
    const second = await apiCalls(() => syncImages([RULE], deps(), { repositorySettings: SETTINGS }));

    expect(ecr.commandCalls(CreateRepositoryCommand).map((c) => c.args[0].input.repositoryName)).toEqual([
      "dr/gitpod/proxy",
      "dr/gitpod/server",
      "dr/workspace-images",
    ]);
    expect(second.calls.filter((c) => c === "CreateRepositoryCommand")).toEqual([]);
    expect(ecr.commandCalls(ListImagesCommand).length).toBe(6);
    expect(ecr.commandCalls(DescribeImagesCommand).length).toBe(6);
    expect(ecr.commandCalls(DescribeRepositoriesCommand).length).toBe(2);
  });
});
