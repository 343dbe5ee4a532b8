/**
 * ECR's API for fake registries: an aws-sdk-client-mock stub of `ECRClient` answering DescribeRepositories,
 * DescribeImages, ListImages and CreateRepository from what `FakeRegistry`s served at ECR host names
 * hold, with ECR's paging (at most 1,000 a page, `nextToken`) and its RepositoryNotFoundException /
 * RepositoryAlreadyExistsException. So the API and the registry API agree, as they do in ECR, and a
 * test counts the API calls a sync made (`stub.calls()`).
 */
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  type ImageDetail,
  type ImageIdentifier,
  ListImagesCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
} from "@aws-sdk/client-ecr";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { ecrRegistry } from "../../../packages/core/src/registry/reference.ts";
import type { FakeRegistry } from "./fake-registry.ts";

type EcrStub = AwsClientStub<ECRClient>;

const PUSHED_AT = new Date("2026-11-01T00:00:00Z");

/** ECR's imageSizeInBytes: the sum of the manifest's layer sizes (an index: left out, as here). */
function imageSize(manifest: Buffer | undefined): number | undefined {
  if (!manifest) return undefined;
  const layers = (JSON.parse(manifest.toString()) as { layers?: { size: number }[] }).layers;
  return layers?.reduce((sum, l) => sum + l.size, 0);
}

function page<T>(items: readonly T[], input: { maxResults?: number; nextToken?: string }) {
  const size = Math.min(input.maxResults ?? 100, 1000);
  const start = input.nextToken ? Number(input.nextToken) : 0;
  const end = start + size;
  return { items: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
}

/** Makes `stub` answer for the ECR registries among `registries` (by account and region of their host). */
export function serveEcrApi(stub: EcrStub, registries: readonly FakeRegistry[]): void {
  const registryOf = async (registryId: string | undefined, client: ECRClient) => {
    const region = await client.config.region();
    const found = registries.find((r) => {
      const ecr = ecrRegistry(r.host);
      return ecr && ecr.region === region && (registryId === undefined || ecr.account === registryId);
    });
    if (!found) throw new Error(`no fake ECR registry for ${registryId} in ${region}`);
    return found;
  };
  const repository = (registry: FakeRegistry, name: string) => {
    const repo = registry.repos.get(name);
    if (!repo) {
      throw new RepositoryNotFoundException({
        message: `The repository with name '${name}' does not exist in the registry`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    return repo;
  };
  const client = (getClient: () => unknown) => getClient() as ECRClient;

  stub.on(DescribeRepositoriesCommand).callsFake(async (input, getClient) => {
    const registry = await registryOf(input.registryId, client(getClient));
    const names = [...registry.repos.keys()].sort();
    const { items, nextToken } = page(names, input);
    return { repositories: items.map((repositoryName) => ({ repositoryName })), nextToken };
  });
  stub.on(DescribeImagesCommand).callsFake(async (input, getClient) => {
    const registry = await registryOf(input.registryId, client(getClient));
    const repo = repository(registry, input.repositoryName);
    const byDigest = new Map<string, string[]>();
    for (const [tag, digest] of repo.tags) byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
    const details: ImageDetail[] = [...byDigest].map(([imageDigest, imageTags]) => ({
      imageDigest,
      imageTags,
      imagePushedAt: PUSHED_AT,
      imageSizeInBytes: imageSize(repo.manifests.get(imageDigest)?.bytes),
      repositoryName: input.repositoryName,
    }));
    const { items, nextToken } = page(details, input);
    return { imageDetails: items, nextToken };
  });
  stub.on(ListImagesCommand).callsFake(async (input, getClient) => {
    const registry = await registryOf(input.registryId, client(getClient));
    const repo = repository(registry, input.repositoryName);
    const ids: ImageIdentifier[] = [...repo.tags].map(([imageTag, imageDigest]) => ({
      imageTag,
      imageDigest,
    }));
    const { items, nextToken } = page(ids, input);
    return { imageIds: items, nextToken };
  });
  stub.on(CreateRepositoryCommand).callsFake(async (input, getClient) => {
    const registry = await registryOf(input.registryId, client(getClient));
    if (registry.repos.has(input.repositoryName)) {
      throw new RepositoryAlreadyExistsException({
        message: `The repository with name '${input.repositoryName}' already exists`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    registry.repo(input.repositoryName);
    return { repository: { repositoryName: input.repositoryName } };
  });
}
