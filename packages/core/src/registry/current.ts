import type { ECRClient } from "@aws-sdk/client-ecr";
import pLimit from "p-limit";
import type { ImageReport } from "./copy.ts";
import { type EcrRepositorySettings, ecrTagDigests, ensureEcrRepository } from "./ecr.ts";
import { ecrRegistry, formatReference, type Reference } from "./reference.ts";

/**
 * What the destination ECR repositories hold, read in bulk before any copy: tag → digest per repository
 * (ListImages, 1,000 tags a call), so an image whose source digest is known (ECR's DescribeImages gives
 * it while planning) and equal to the destination tag's is up to date without a registry request. A warm
 * re-sync of N unchanged tags in R repositories between ECR registries costs 2·Σ⌈tags/1000⌉ ≈ 2R API
 * calls (issue 18: at most N/100 + 10 for repositories of ≥ 200 tags, as Gitpod's workspace images are),
 * instead of 2N registry HEADs. A repository ListImages does not find is created (unless a dry run): the
 * listing is also the existence check, so a warm run makes no CreateRepository call.
 */

/** A copy to make, with its source digest when the source's listing gave it (ECR). */
export interface DigestedCopy {
  readonly rule: string;
  readonly source: Reference;
  readonly destination: Reference;
  readonly sourceDigest?: string | undefined;
  /** The source image's size in bytes, when the source's listing gave it (ECR). */
  readonly sourceSize?: number | undefined;
}

export interface DestinationState {
  /** `registry/repository` → tag → digest, for the ECR destinations that were listed. */
  readonly digests: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** `registry/repository` of the repositories created, sorted. */
  readonly created: readonly string[];
  /** `registry/repository` of destinations that cannot be written (listing or creation failed). */
  readonly unusable: ReadonlySet<string>;
  readonly problems: readonly string[];
}

export const repositoryKey = (ref: Pick<Reference, "registry" | "repository">) =>
  `${ref.registry}/${ref.repository}`;

/**
 * Lists every ECR destination repository of `copies` (a few at a time) and creates the missing ones.
 * Never throws: a repository that cannot be listed or created is `unusable`, with its problem.
 */
export async function readDestinations(
  copies: readonly DigestedCopy[],
  ecr: (region: string) => ECRClient,
  options: { readonly repositorySettings: EcrRepositorySettings; readonly dryRun?: boolean | undefined },
): Promise<DestinationState> {
  const destinations = new Map<string, Reference>();
  for (const copy of copies) destinations.set(repositoryKey(copy.destination), copy.destination);
  const digests = new Map<string, ReadonlyMap<string, string>>();
  const created: string[] = [];
  const unusable = new Set<string>();
  const problems: string[] = [];
  // A few at a time: a run with hundreds of destination repositories does not wait on them one by one,
  // and stays far below ECR's ListImages rate (20 per second).
  const limit = pLimit(4);
  await Promise.all(
    [...destinations].map(([key, destination]) =>
      limit(async () => {
        const registry = ecrRegistry(destination.registry);
        if (!registry) return;
        const client = ecr(registry.region);
        try {
          const found = await ecrTagDigests(client, registry.account, destination.repository);
          if (found) {
            digests.set(key, found);
            return;
          }
          // Missing: every tag is to be copied; a dry run creates nothing.
          digests.set(key, new Map());
          if (options.dryRun) return;
          const result = await ensureEcrRepository(
            client,
            registry.account,
            destination.repository,
            options.repositorySettings,
          );
          if (result === "created") created.push(key);
        } catch (error) {
          digests.delete(key);
          unusable.add(key);
          problems.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    ),
  );
  return { digests, created: created.sort(), unusable, problems };
}

/**
 * Whether both digests of a copy are known from the bulk listings, and if so whether they are equal.
 * `undefined`: not known, the registry API decides (HEAD source and destination).
 */
export function knownCurrent(
  copy: DigestedCopy,
  state: Pick<DestinationState, "digests">,
): { current: boolean; digest: string } | undefined {
  if (!copy.sourceDigest) return undefined;
  const tags = state.digests.get(repositoryKey(copy.destination));
  if (!tags) return undefined;
  return {
    current: tags.get(copy.destination.tag as string) === copy.sourceDigest,
    digest: copy.sourceDigest,
  };
}

/** The report of an image found up to date by the bulk comparison (no registry request made). */
export function upToDateReport(copy: DigestedCopy, digest: string): ImageReport {
  return {
    source: formatReference(copy.source),
    destination: formatReference(copy.destination),
    status: "up-to-date",
    digest,
    bytesMoved: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    manifestsPushed: 0,
    durationMs: 0,
  };
}
