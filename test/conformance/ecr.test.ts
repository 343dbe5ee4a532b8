/**
 * Conformance: the image sync's ECR API calls (registry/ecr.ts and registry/auth.ts, through the real
 * planning and repository creation of registry/sync.ts) against moto_server, and against the way the
 * unit tests (test/unit/registry) mock ECR with aws-sdk-client-mock: the same repositories and images in
 * both, the same plan, the same repositories created. moto has no registry (OCI distribution) endpoint,
 * so image copies themselves are tested against real registries in test/integration, not here.
 */
import { createHash } from "node:crypto";
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  RepositoryAlreadyExistsException,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { awsErrorCode } from "../../packages/core/src/aws/errors.ts";
import { ecrCredentials } from "../../packages/core/src/registry/auth.ts";
import {
  type EcrRepositorySettings,
  ecrTagDigests,
  ensureEcrRepository,
  listEcrTags,
} from "../../packages/core/src/registry/ecr.ts";
import { sha256Digest } from "../../packages/core/src/registry/manifest.ts";
import {
  type PlannedCopy,
  planSync,
  type SyncDeps,
  type SyncRule,
  syncImages,
} from "../../packages/core/src/registry/sync.ts";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "../../packages/core/src/tags.ts";
import { useMoto } from "../fixtures/moto.ts";
import { MOTO_ECR_GAPS } from "./moto-gaps.ts";

const ACCOUNT = "123456789012";
const SOURCE_ECR = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST_ECR = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;

const rule = (extra: Partial<SyncRule> = {}): SyncRule => ({
  name: "gitpod",
  source: { registry: SOURCE_ECR },
  repositories: ["gitpod/*"],
  destination: { registry: DEST_ECR, repositoryPrefix: "dr/" },
  ...extra,
});
const line = (c: PlannedCopy) =>
  `${c.source.repository}:${c.source.tag} → ${c.destination.registry}/${c.destination.repository}:${c.destination.tag}`;
const settings: EcrRepositorySettings = {
  tagMutability: "IMMUTABLE",
  scanOnPush: true,
  encryption: { type: "KMS" },
};
const noTransport: SyncDeps["transportFor"] = (registry) => {
  throw new Error(`no registry transport in the conformance suite (asked for ${registry})`);
};

/** An OCI image manifest of one layer (what ECR stores for an image). */
function manifest(seed: string): string {
  const digest = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      size: 100,
      digest: digest(`config ${seed}`),
    },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        size: 1000,
        digest: digest(`layer ${seed}`),
      },
    ],
  });
}

/** The source registry: repositories, and per repository the images in push order with their tags. */
const SOURCE: Record<string, string[][]> = {
  "gitpod/server": [["1.0"], ["1.1", "stable"], ["1.2"]],
  "gitpod/proxy": [["0.9"]],
  "other/tool": [["1"]],
  "gitpodder/x": [["1"]],
};

const moto = useMoto();

/**
 * Seeds moto's ECR in the source region; `spaced`: the images of a repository one second apart (moto
 * stamps pushes in whole seconds), for tests of "newest".
 */
async function seedMoto(spaced = false): Promise<ECRClient> {
  await moto.reset();
  const ecr = new ECRClient(moto.clientConfig("eu-west-1"));
  for (const name of Object.keys(SOURCE))
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  const rounds = Math.max(...Object.values(SOURCE).map((images) => images.length));
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && spaced) await new Promise((r) => setTimeout(r, 1_050));
    for (const [repositoryName, images] of Object.entries(SOURCE)) {
      for (const tag of images[i] ?? []) {
        await ecr.send(
          new PutImageCommand({
            repositoryName,
            imageTag: tag,
            imageManifest: manifest(`${repositoryName} ${i}`),
          }),
        );
      }
    }
  }
  return ecr;
}

/** The same registry as the unit tests mock it (test/unit/registry/sync.test.ts `ecrSource`). */
function mockedEcr(): ECRClient {
  const client = new ECRClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
  });
  const stub = mockClient(client);
  const names = Object.keys(SOURCE);
  stub
    .on(DescribeRepositoriesCommand, { nextToken: undefined })
    .resolves({
      repositories: names.slice(0, 2).map((repositoryName) => ({ repositoryName })),
      nextToken: "page-2",
    })
    .on(DescribeRepositoriesCommand, { nextToken: "page-2" })
    .resolves({ repositories: names.slice(2).map((repositoryName) => ({ repositoryName })) });
  for (const [repositoryName, images] of Object.entries(SOURCE)) {
    stub.on(DescribeImagesCommand, { repositoryName }).resolves({
      imageDetails: images.map((imageTags, i) => ({
        imageTags,
        imagePushedAt: new Date(Date.UTC(2026, 10, 1 + i)),
      })),
    });
  }
  stub.on(CreateRepositoryCommand).resolves({});
  return client;
}

describe("ECR as the image sync reads it: moto and the unit tests' mock agree", () => {
  it("discovers repositories by prefix and selects tags by push time the same way", async () => {
    const onMoto = await seedMoto(true);
    const onMock = mockedEcr();
    const plans: Record<string, string[]> = {};
    const tags: Record<string, unknown> = {};
    for (const [name, client] of [
      ["moto", onMoto],
      ["mock", onMock],
    ] as const) {
      const deps: SyncDeps = { transportFor: noTransport, ecr: () => client };
      const plan = await planSync([rule({ tags: { exclude: "stable", newest: 2 } })], deps);
      expect(plan.problems).toEqual([]);
      plans[name] = plan.copies.map(line);
      const server = await listEcrTags(client, ACCOUNT, "gitpod/server");
      tags[name] = server
        .map((t) => ({
          tag: t.tag,
          hasTime: t.pushedAt instanceof Date && !Number.isNaN(t.pushedAt.getTime()),
        }))
        .sort((a, b) => a.tag.localeCompare(b.tag));
    }
    expect(plans.moto).toEqual(plans.mock);
    expect(plans.moto).toEqual([
      `gitpod/proxy:0.9 → ${DEST_ECR}/dr/gitpod/proxy:0.9`,
      `gitpod/server:1.1 → ${DEST_ECR}/dr/gitpod/server:1.1`,
      `gitpod/server:1.2 → ${DEST_ECR}/dr/gitpod/server:1.2`,
    ]);
    expect(tags.moto).toEqual(tags.mock);
    // One image, two tags: ECR reports it once with both (the mock's shape), and moto does too.
    const detail = await onMoto.send(
      new DescribeImagesCommand({ repositoryName: "gitpod/server", imageIds: [{ imageTag: "stable" }] }),
    );
    expect(detail.imageDetails?.[0]?.imageTags?.sort()).toEqual(["1.1", "stable"]);
  }, 30_000);

  it("creates each destination repository once, with the settings and the tool's tag; a second run finds it", async () => {
    await seedMoto();
    const deps: SyncDeps = {
      transportFor: noTransport,
      ecr: (region) => new ECRClient(moto.clientConfig(region)),
    };
    // No copy starts (canStart false): the run creates the repositories and defers every image.
    const options = { repositorySettings: settings, canStart: () => false };
    const first = await syncImages([rule()], deps, options);
    const second = await syncImages([rule()], deps, options);

    expect(first.problems).toEqual([]);
    expect(first.repositoriesCreated).toEqual([
      `${DEST_ECR}/dr/gitpod/proxy`,
      `${DEST_ECR}/dr/gitpod/server`,
    ]);
    expect(first.deferred.map(line)).toHaveLength(5);
    expect(second.problems).toEqual([]);
    expect(second.repositoriesCreated).toEqual([]);
    const dr = new ECRClient(moto.clientConfig("eu-central-1"));
    const repositories = (await dr.send(new DescribeRepositoriesCommand({}))).repositories ?? [];
    expect(repositories.map((r) => r.repositoryName).sort()).toEqual(["dr/gitpod/proxy", "dr/gitpod/server"]);
    for (const repository of repositories) {
      expect(repository.imageTagMutability).toBe("IMMUTABLE");
      expect(repository.imageScanningConfiguration).toEqual({ scanOnPush: true });
      // No key given: ECR uses a KMS key of its own choosing (AWS: the managed aws/ecr key).
      expect(repository.encryptionConfiguration).toEqual({
        encryptionType: "KMS",
        kmsKey: expect.stringMatching(/^arn:aws:kms:eu-central-1:\d{12}:key\//),
      });
      const tags = await dr.send(new ListTagsForResourceCommand({ resourceArn: repository.repositoryArn }));
      expect(tags.tags).toEqual([{ Key: TAG_CREATED_BY, Value: TAG_CREATED_BY_VALUE }]);
    }
    // The error the unit tests mock for an existing repository is the one ECR (moto) sends.
    const again = await dr
      .send(new CreateRepositoryCommand({ repositoryName: "dr/gitpod/server" }))
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RepositoryAlreadyExistsException);
    expect(awsErrorCode(again)).toBe("RepositoryAlreadyExistsException");
    expect((again as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
    await expect(ensureEcrRepository(dr, ACCOUNT, "dr/gitpod/server", settings)).resolves.toBe("exists");
  }, 30_000);

  it("ListImages gives the tag → digest map DescribeImages gives, and RepositoryNotFound for a missing repository", async () => {
    const client = await seedMoto();
    const described = await listEcrTags(client, ACCOUNT, "gitpod/server");

    const listed = await ecrTagDigests(client, ACCOUNT, "gitpod/server");

    // moto's digests are not ECR's (MOTO_ECR_GAPS imageDigest), but its two APIs agree with each other,
    // which is what the sync's bulk comparison relies on.
    expect(listed).toEqual(new Map(described.map((t) => [t.tag, t.digest])));
    expect([...(listed?.keys() ?? [])].sort()).toEqual(["1.0", "1.1", "1.2", "stable"]);
    expect(listed?.get("stable")).toBe(listed?.get("1.1"));
    expect(await ecrTagDigests(client, ACCOUNT, "gitpod/missing")).toBeUndefined();
  }, 30_000);

  it("reads the authorization token as the unit tests mock it: user AWS, a password, an expiry time", async () => {
    await moto.reset();
    const ecr = new ECRClient(moto.clientConfig("eu-central-1"));
    const raw = await ecr.send(new GetAuthorizationTokenCommand({}));
    const credentials = await ecrCredentials(ecr, DEST_ECR)();

    expect(raw.authorizationData?.[0]?.proxyEndpoint).toMatch(
      /^https:\/\/\d{12}\.dkr\.ecr\.eu-central-1\.amazonaws\.com$/,
    );
    expect(credentials?.username).toBe("AWS");
    expect(credentials?.password.length).toBeGreaterThan(0);
    expect(credentials?.expiresAt).toBeInstanceOf(Date);
    // ECR's token lasts 12 hours; moto's expired in 2015 (MOTO_ECR_GAPS), so a transport on moto would
    // ask for a new one before every request (cacheCredentials renews 5 minutes before expiry).
    expect(credentials?.expiresAt?.toISOString()).toBe("2015-01-01T00:00:00.000Z");
    expect(MOTO_ECR_GAPS.map((g) => g.field)).toContain("expiresAt");
  });

  it("BatchGetImage: moto's digest is not the manifest's sha256 (ECR's is); moto has no registry endpoint", async () => {
    const ecr = await seedMoto();
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: "gitpod/server",
        imageIds: [{ imageTag: "1.2" }, { imageTag: "stable" }],
      }),
    );
    const images = out.images ?? [];
    expect(images.map((i) => i.imageId?.imageTag).sort()).toEqual(["1.2", "stable"]);
    for (const image of images) {
      expect(image.imageManifest).toBe(
        manifest(`gitpod/server ${image.imageId?.imageTag === "1.2" ? 2 : 1}`),
      );
      expect(image.imageId?.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // ECR's digest is the manifest's (what the engine compares after a copy); moto's is not.
      const ofManifest = sha256Digest(new TextEncoder().encode(image.imageManifest));
      expect(image.imageId?.imageDigest).not.toBe(ofManifest);
    }
    expect(MOTO_ECR_GAPS.map((g) => g.field)).toContain("imageDigest");
    // The registry API (where the engine reads and writes images) is not there.
    const v2 = await fetch(`${moto.endpoint}/v2/`);
    expect(v2.status).toBe(404);
    expect(MOTO_ECR_GAPS.map((g) => g.field)).toContain("/v2/");
  }, 30_000);
});
