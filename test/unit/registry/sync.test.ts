import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  RepositoryAlreadyExistsException,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type EcrRepositorySettings, ensureEcrRepository } from "../../../packages/core/src/registry/ecr.ts";
import { DOCKER_HUB } from "../../../packages/core/src/registry/reference.ts";
import { transportPool } from "../../../packages/core/src/registry/registries.ts";
import {
  destinationRepository,
  type PlannedCopy,
  planSync,
  type SyncDeps,
  type SyncRule,
  selectTags,
} from "../../../packages/core/src/registry/sync.ts";
import { FakeNetwork } from "./fake-network.ts";
import { FakeRegistry } from "./fake-registry.ts";

const ACCOUNT = "123456789012";
const SOURCE_ECR = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST_ECR = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const at = (iso: string) => new Date(iso);

const rule = (extra: Partial<SyncRule> = {}): SyncRule => ({
  name: "gitpod",
  source: { registry: SOURCE_ECR },
  repositories: ["gitpod/*"],
  destination: { registry: DEST_ECR, repositoryPrefix: "dr/" },
  ...extra,
});

const ecr = mockClient(ECRClient);
let network: FakeNetwork;

beforeEach(async () => {
  ecr.reset();
  network = await FakeNetwork.start();
});
afterEach(async () => {
  await network.close();
});

/** Deps whose registries are the fake network's; records which registries a transport was asked for. */
function deps(): SyncDeps & { transportsAskedFor: string[] } {
  const transportsAskedFor: string[] = [];
  const pool = transportPool({ credentials: () => undefined, agents: network.agents });
  return {
    transportsAskedFor,
    transportFor: (registry) => {
      transportsAskedFor.push(registry);
      return pool(registry);
    },
    ecr: (region) =>
      new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
  };
}

const line = (c: PlannedCopy) =>
  `${c.rule}: ${c.source.registry}/${c.source.repository}:${c.source.tag} → ${c.destination.registry}/${c.destination.repository}:${c.destination.tag}`;

describe("selectTags", () => {
  const tags = [
    { tag: "1.2", pushedAt: at("2026-11-01T00:00:00Z") },
    { tag: "11.2", pushedAt: at("2026-11-05T00:00:00Z") },
    { tag: "1.2-rc1", pushedAt: at("2026-11-06T00:00:00Z") },
    { tag: "1.3", pushedAt: at("2026-11-03T00:00:00Z") },
    { tag: "latest", pushedAt: at("2026-11-06T00:00:00Z") },
  ];

  it.each<[string, SyncRule["tags"], string[]]>([
    ["no filter: every tag, sorted", undefined, ["1.2", "1.2-rc1", "1.3", "11.2", "latest"]],
    ["include anchored to the whole tag", { include: "1\\.\\d+" }, ["1.2", "1.3"]],
    ["include alternation anchored as a whole", { include: "1\\.2|latest" }, ["1.2", "latest"]],
    ["exclude anchored to the whole tag", { exclude: "1\\.2" }, ["1.2-rc1", "1.3", "11.2", "latest"]],
    ["include and exclude", { include: "\\d.*", exclude: ".*-rc\\d*" }, ["1.2", "1.3", "11.2"]],
    ["newest N by push time, after the filters", { exclude: "latest", newest: 2 }, ["1.2-rc1", "11.2"]],
    ["newest breaks ties by tag name", { newest: 1 }, ["1.2-rc1"]],
    ["newest larger than the list", { newest: 50 }, ["1.2", "1.2-rc1", "1.3", "11.2", "latest"]],
  ])("%s", (_, filter, expected) => {
    expect(selectTags(rule({ tags: filter }), tags)).toEqual(expected);
  });

  it("refuses newest for tags without push times, naming the rule and registry", () => {
    expect(() =>
      selectTags(rule({ name: "hub", source: { registry: DOCKER_HUB }, tags: { newest: 3 } }), [
        { tag: "1" },
      ]),
    ).toThrow(
      expect.objectContaining({
        name: "InvalidSyncRule",
        message: `rule "hub": "newest" needs push times, which ${DOCKER_HUB} does not report (use an ECR source or a regex)`,
      }),
    );
  });
});

describe("destinationRepository", () => {
  it.each<[SyncRule["destination"], string, string]>([
    [{ registry: DEST_ECR }, "gitpod/server", "gitpod/server"],
    [{ registry: DEST_ECR, repositoryPrefix: "dr/" }, "gitpod/server", "dr/gitpod/server"],
    [{ registry: DEST_ECR, stripPrefix: "gitpod/" }, "gitpod/server", "server"],
    [
      { registry: DEST_ECR, stripPrefix: "gitpod/", repositoryPrefix: "mirror/" },
      "gitpod/server",
      "mirror/server",
    ],
    [
      { registry: DEST_ECR, stripPrefix: "other/", repositoryPrefix: "mirror/" },
      "gitpod/server",
      "mirror/gitpod/server",
    ],
  ])("%j maps %s to %s", (destination, source, expected) => {
    expect(destinationRepository(rule({ destination }), source)).toBe(expected);
  });
});

describe("planSync", () => {
  function ecrSource() {
    ecr
      .on(DescribeRepositoriesCommand, { nextToken: undefined })
      .resolves({
        repositories: [{ repositoryName: "gitpod/server" }, { repositoryName: "other/tool" }],
        nextToken: "page-2",
      })
      .on(DescribeRepositoriesCommand, { nextToken: "page-2" })
      .resolves({ repositories: [{ repositoryName: "gitpod/proxy" }, { repositoryName: "gitpodder/x" }] });
    ecr
      .on(DescribeImagesCommand, { repositoryName: "gitpod/server" })
      .resolves({
        imageDetails: [
          { imageTags: ["1.0"], imagePushedAt: at("2026-11-01T00:00:00Z") },
          { imageTags: ["1.1", "stable"], imagePushedAt: at("2026-11-02T00:00:00Z") },
          { imageTags: ["1.2"], imagePushedAt: at("2026-11-03T00:00:00Z") },
        ],
      })
      .on(DescribeImagesCommand, { repositoryName: "gitpod/proxy" })
      .resolves({ imageDetails: [{ imageTags: ["0.9"], imagePushedAt: at("2026-10-01T00:00:00Z") }] });
  }

  it("discovers an ECR source through the ECR API (paginated), with push times for newest", async () => {
    ecrSource();
    const d = deps();

    const plan = await planSync([rule({ tags: { exclude: "stable", newest: 2 } })], d);

    expect(plan.problems).toEqual([]);
    expect(plan.copies.map(line)).toEqual([
      `gitpod: ${SOURCE_ECR}/gitpod/proxy:0.9 → ${DEST_ECR}/dr/gitpod/proxy:0.9`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:1.1 → ${DEST_ECR}/dr/gitpod/server:1.1`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:1.2 → ${DEST_ECR}/dr/gitpod/server:1.2`,
    ]);
    // Two pages of 1,000 at most (the SDK's paginator sends one input object, updated with each page's
    // token, so the recorded inputs both show its last state).
    const listed = ecr.commandCalls(DescribeRepositoriesCommand).map((c) => c.args[0].input);
    expect(listed).toEqual([
      { registryId: ACCOUNT, maxResults: 1000, nextToken: "page-2" },
      { registryId: ACCOUNT, maxResults: 1000, nextToken: "page-2" },
    ]);
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      {
        registryId: ACCOUNT,
        repositoryName: "gitpod/proxy",
        filter: { tagStatus: "TAGGED" },
        maxResults: 1000,
      },
      {
        registryId: ACCOUNT,
        repositoryName: "gitpod/server",
        filter: { tagStatus: "TAGGED" },
        maxResults: 1000,
      },
    ]);
    // Discovery went through the ECR API only: not one registry request.
    expect(network.requests).toEqual([]);
  });

  it("plans an ECR source without ever asking for a registry transport", async () => {
    ecrSource();
    const d: SyncDeps = {
      ...deps(),
      transportFor: (registry) => {
        throw new Error(`no transport may be made for ${registry}`);
      },
    };

    const plan = await planSync([rule({ repositories: ["gitpod/*", "gitpod/server"] })], d);

    expect(plan.problems).toEqual([]);
    expect(plan.copies.map(line)).toEqual([
      `gitpod: ${SOURCE_ECR}/gitpod/proxy:0.9 → ${DEST_ECR}/dr/gitpod/proxy:0.9`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:1.0 → ${DEST_ECR}/dr/gitpod/server:1.0`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:1.1 → ${DEST_ECR}/dr/gitpod/server:1.1`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:1.2 → ${DEST_ECR}/dr/gitpod/server:1.2`,
      `gitpod: ${SOURCE_ECR}/gitpod/server:stable → ${DEST_ECR}/dr/gitpod/server:stable`,
    ]);
    expect(network.requests).toEqual([]);
  });

  it("lists exact repositories' tags without listing the registry's repositories", async () => {
    ecrSource();

    const plan = await planSync([rule({ repositories: ["gitpod/proxy"] })], deps());

    expect(plan.copies.map((c) => `${c.source.repository}:${c.source.tag}`)).toEqual(["gitpod/proxy:0.9"]);
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(0);
  });

  it("discovers a registry that is not ECR through the catalog and tag lists, Docker Hub names normalised", async () => {
    const hub = new FakeRegistry(DOCKER_HUB, network);
    hub.addImage("library/ubuntu", "22.04", [Buffer.from("u1")]);
    hub.addImage("library/ubuntu", "24.04", [Buffer.from("u2")]);
    const local = new FakeRegistry("registry.internal.test", network);
    local.addImage("team/a", "v1", [Buffer.from("a")]);
    local.addImage("team/b", "v1", [Buffer.from("b")]);
    local.addImage("teamwork/c", "v1", [Buffer.from("c")]);

    const plan = await planSync(
      [
        rule({
          name: "hub",
          source: { registry: DOCKER_HUB },
          repositories: ["ubuntu"],
          tags: { include: "22\\..*" },
        }),
        rule({ name: "local", source: { registry: "registry.internal.test" }, repositories: ["team/*"] }),
      ],
      deps(),
    );

    expect(plan.problems).toEqual([]);
    expect(plan.copies.map(line)).toEqual([
      `hub: ${DOCKER_HUB}/library/ubuntu:22.04 → ${DEST_ECR}/dr/library/ubuntu:22.04`,
      `local: registry.internal.test/team/a:v1 → ${DEST_ECR}/dr/team/a:v1`,
      `local: registry.internal.test/team/b:v1 → ${DEST_ECR}/dr/team/b:v1`,
    ]);
  });

  it("refuses two sources mapped to one destination, copying neither, and keeps the other copies", async () => {
    const a = new FakeRegistry("a.test", network);
    a.addImage("app", "1", [Buffer.from("a")]);
    a.addImage("tool", "1", [Buffer.from("t")]);
    const b = new FakeRegistry("b.test", network);
    b.addImage("app", "1", [Buffer.from("b")]);

    const plan = await planSync(
      [
        rule({ name: "from-a", source: { registry: "a.test" }, repositories: ["app", "tool"] }),
        rule({ name: "from-b", source: { registry: "b.test" }, repositories: ["app"] }),
        // The same source twice is not a conflict.
        rule({ name: "again-a", source: { registry: "a.test" }, repositories: ["tool"] }),
      ],
      deps(),
    );

    expect(plan.copies.map(line)).toEqual([`from-a: a.test/tool:1 → ${DEST_ECR}/dr/tool:1`]);
    expect(plan.problems).toEqual([
      `${DEST_ECR}/dr/app:1 is the destination of a.test/app:1 and b.test/app:1: fix the rules (from-a, from-b) so each destination has one source`,
    ]);
  });

  it("reports a rule whose discovery fails and plans the others", async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(
      Object.assign(new Error("User is not authorized to perform: ecr:DescribeRepositories"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const local = new FakeRegistry("registry.internal.test", network);
    local.addImage("team/a", "v1", [Buffer.from("a")]);

    const plan = await planSync(
      [
        rule({ name: "denied" }),
        rule({ name: "local", source: { registry: "registry.internal.test" }, repositories: ["team/a"] }),
      ],
      deps(),
    );

    expect(plan.copies.map((c) => c.rule)).toEqual(["local"]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toMatch(
      /^rule "denied": Unable to list the ECR repositories of account 123456789012: access denied \(AccessDeniedException\)/,
    );
  });
});

describe("ensureEcrRepository", () => {
  const settings: EcrRepositorySettings = {
    tagMutability: "IMMUTABLE",
    scanOnPush: true,
    encryption: {
      type: "KMS",
      kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
  };
  const client = () =>
    new ECRClient({
      region: "eu-central-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
    });

  it("creates the repository with the configured settings and the created-by tag", async () => {
    ecr.on(CreateRepositoryCommand).resolves({});

    const result = await ensureEcrRepository(client(), ACCOUNT, "dr/gitpod/server", settings);

    expect(result).toBe("created");
    expect(ecr.commandCalls(CreateRepositoryCommand).map((c) => c.args[0].input)).toEqual([
      {
        registryId: ACCOUNT,
        repositoryName: "dr/gitpod/server",
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: {
          encryptionType: "KMS",
          kmsKey: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        tags: [{ Key: "gitpod-dr:created-by", Value: "gitpod-dr" }],
      },
    ]);
  });

  it("uses AES256, or the AWS managed KMS key when no key is given", async () => {
    ecr.on(CreateRepositoryCommand).resolves({});

    await ensureEcrRepository(client(), ACCOUNT, "a", { ...settings, encryption: { type: "AES256" } });
    await ensureEcrRepository(client(), ACCOUNT, "b", { ...settings, encryption: { type: "KMS" } });

    expect(
      ecr.commandCalls(CreateRepositoryCommand).map((c) => c.args[0].input.encryptionConfiguration),
    ).toEqual([{ encryptionType: "AES256" }, { encryptionType: "KMS" }]);
  });

  it("leaves an existing repository as it is", async () => {
    ecr
      .on(CreateRepositoryCommand)
      .rejects(
        new RepositoryAlreadyExistsException({ message: "exists", $metadata: { httpStatusCode: 400 } }),
      );

    await expect(ensureEcrRepository(client(), ACCOUNT, "dr/gitpod/server", settings)).resolves.toBe(
      "exists",
    );
  });

  it("reports another failure with the repository's name", async () => {
    ecr.on(CreateRepositoryCommand).rejects(
      Object.assign(new Error("not authorized to perform: ecr:CreateRepository"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(ensureEcrRepository(client(), ACCOUNT, "dr/x", settings)).rejects.toMatchObject({
      name: "AwsAccessDenied",
      message: expect.stringContaining("Unable to create ECR repository dr/x in account 123456789012"),
    });
  });
});
