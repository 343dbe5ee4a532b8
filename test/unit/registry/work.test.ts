/**
 * The sync workflow's Plan (issue 18 §3) for a simulated 5,000-image ECR registry: the work list it
 * writes (one item per image to copy, with its size), what it leaves out as current, and the ECR API
 * calls it costs. The ECR API answers from fake registries' contents (fake-ecr.ts).
 */
import { ECRClient } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { transportPool } from "../../../packages/core/src/registry/registries.ts";
import type { SyncRule } from "../../../packages/core/src/registry/sync.ts";
import { planWork } from "../../../packages/core/src/registry/work.ts";
import { serveEcrApi } from "./fake-ecr.ts";
import { FakeNetwork } from "./fake-network.ts";
import { FakeRegistry } from "./fake-registry.ts";

const ACCOUNT = "123456789012";
const SOURCE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const SETTINGS = { tagMutability: "MUTABLE", scanOnPush: false, encryption: { type: "AES256" } } as const;
const RULE: SyncRule = {
  name: "gitpod",
  source: { registry: SOURCE },
  repositories: ["workspace-images"],
  destination: { registry: DEST, repositoryPrefix: "dr/" },
  platforms: [{ os: "linux", architecture: "amd64" }],
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

const deps = () => ({
  transportFor: transportPool({ credentials: () => undefined, agents: network.agents }),
  ecr: (region: string) =>
    new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
});

describe("planWork", () => {
  it("plans a 5,000-image registry: the 120 images to copy with their sizes, in 10 API calls", async () => {
    const N = 5_000;
    let expectedBytes = 0;
    for (let i = 0; i < N; i++) {
      const layer = Buffer.alloc(100 + (i % 50), i % 251);
      src.addImage("workspace-images", `build-${i}`, [layer]);
      // The previous run copied all but the last 100; build-7 was rebuilt since (its tag moved).
      if (i < N - 100) dst.addImage("dr/workspace-images", `build-${i}`, [layer]);
      if (i >= N - 100) expectedBytes += layer.length;
    }
    for (let i = 0; i < 20; i++) {
      const rebuilt = Buffer.alloc(10_000 + i, 7);
      src.addImage("workspace-images", `build-${i}`, [rebuilt]);
      expectedBytes += rebuilt.length;
    }

    const plan = await planWork([RULE], deps(), { repositorySettings: SETTINGS });

    expect(plan.problems).toEqual([]);
    expect(plan.totals).toEqual({ items: 120, upToDate: N - 120, bytes: expectedBytes, unknownSize: 0 });
    expect(plan.items.map((i) => i.source).sort()).toEqual(
      [
        ...Array.from({ length: 20 }, (_, i) => `build-${i}`),
        ...Array.from({ length: 100 }, (_, i) => `build-${N - 100 + i}`),
      ]
        .map((tag) => `${SOURCE}/workspace-images:${tag}`)
        .sort(),
    );
    // Largest first; each item names its destination, size and the rule's platforms.
    const sizes = plan.items.map((i) => i.size ?? 0);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(plan.items[0]).toEqual({
      rule: "gitpod",
      source: `${SOURCE}/workspace-images:build-19`,
      destination: `${DEST}/dr/workspace-images:build-19`,
      size: 10_019,
      platforms: ["linux/amd64"],
    });
    // The current ones carry the digest at the destination (what a recovery point records).
    expect(plan.current[0]).toMatchObject({
      status: "up-to-date",
      digest: expect.stringMatching(/^sha256:/),
    });
    // 5 DescribeImages pages + 5 ListImages pages + nothing else; not one registry request.
    expect(ecr.calls()).toHaveLength(10);
    expect(network.requests).toEqual([]);
    // The work list as the Map's ItemReader reads it: a JSON array of the items.
    expect(JSON.parse(JSON.stringify(plan.items))).toHaveLength(120);
  }, 60_000);
});
