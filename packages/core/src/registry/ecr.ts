import type { ECRClient, EncryptionConfiguration } from "@aws-sdk/client-ecr";
import { CREATED_BY_TAG } from "../tags.ts";
import { awsErrorCodeOf, awsFailure } from "./aws.ts";

/**
 * ECR API calls the sync job needs beyond the OCI API: discovery, push times, repository creation.
 * The SDK module is loaded on first use (measured: with it and the Secrets Manager SDK imported
 * statically, importing the engine loads 22 more packages and takes 0.77 s instead of 0.14 s), so runs
 * without ECR do not pay for it.
 */
const sdk = () => import("@aws-sdk/client-ecr");

type Ecr = Pick<ECRClient, "send">;

export interface EcrRepositorySettings {
  readonly tagMutability: "MUTABLE" | "IMMUTABLE";
  readonly scanOnPush: boolean;
  readonly encryption:
    | { readonly type: "AES256" }
    | { readonly type: "KMS"; readonly kmsKeyArn?: string | undefined };
}

export interface TagInfo {
  readonly tag: string;
  /** When the registry reports it (ECR does); used for "newest N tags". */
  readonly pushedAt?: Date;
}

/** Every repository name of an ECR registry (account). */
export async function listEcrRepositories(ecr: Ecr, registryId: string): Promise<string[]> {
  const { DescribeRepositoriesCommand } = await sdk();
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await ecr.send(
        new DescribeRepositoriesCommand({
          registryId,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const repo of page.repositories ?? []) if (repo.repositoryName) names.push(repo.repositoryName);
      nextToken = page.nextToken;
    } catch (error) {
      throw await awsFailure(`Unable to list the ECR repositories of account ${registryId}`, error);
    }
  } while (nextToken);
  return names;
}

/** Tags of an ECR repository with their push times (an image with several tags gives one entry each). */
export async function listEcrTags(ecr: Ecr, registryId: string, repositoryName: string): Promise<TagInfo[]> {
  const { DescribeImagesCommand } = await sdk();
  const tags: TagInfo[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await ecr.send(
        new DescribeImagesCommand({
          registryId,
          repositoryName,
          filter: { tagStatus: "TAGGED" },
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const image of page.imageDetails ?? []) {
        for (const tag of image.imageTags ?? []) {
          tags.push({ tag, ...(image.imagePushedAt ? { pushedAt: new Date(image.imagePushedAt) } : {}) });
        }
      }
      nextToken = page.nextToken;
    } catch (error) {
      throw await awsFailure(`Unable to list the images of ECR repository ${repositoryName}`, error);
    }
  } while (nextToken);
  return tags;
}

/**
 * Creates an ECR repository with the configured settings; one that exists already is left as it is
 * (its settings are the owner's).
 *
 * @returns whether it was created.
 */
export async function ensureEcrRepository(
  ecr: Ecr,
  registryId: string,
  repositoryName: string,
  settings: EcrRepositorySettings,
): Promise<"created" | "exists"> {
  const { CreateRepositoryCommand } = await sdk();
  const encryptionConfiguration: EncryptionConfiguration =
    settings.encryption.type === "KMS"
      ? {
          encryptionType: "KMS",
          ...(settings.encryption.kmsKeyArn ? { kmsKey: settings.encryption.kmsKeyArn } : {}),
        }
      : { encryptionType: "AES256" };
  try {
    await ecr.send(
      new CreateRepositoryCommand({
        registryId,
        repositoryName,
        imageTagMutability: settings.tagMutability,
        imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
        encryptionConfiguration,
        tags: [CREATED_BY_TAG],
      }),
    );
    return "created";
  } catch (error) {
    if ((await awsErrorCodeOf(error)) === "RepositoryAlreadyExistsException") return "exists";
    throw await awsFailure(
      `Unable to create ECR repository ${repositoryName} in account ${registryId}`,
      error,
    );
  }
}
