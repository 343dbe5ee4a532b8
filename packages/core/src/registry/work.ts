import type { ImageReport } from "./copy.ts";
import { knownCurrent, readDestinations, upToDateReport } from "./current.ts";
import type { EcrRepositorySettings } from "./ecr.ts";
import type { Platform } from "./manifest.ts";
import { formatPlatform } from "./manifest.ts";
import { formatReference } from "./reference.ts";
import { type PlannedCopy, planSync, type SyncDeps, type SyncRule } from "./sync.ts";

/**
 * The image sync as a workflow for big registries (issue 18 §3): **Plan** lists sources and
 * destinations, compares digests in bulk and writes the work list (one item per image to copy, with its
 * size) for a Distributed Map; each **child** copies a batch of items with the engine (`work-copy.ts`);
 * **Summarize** adds the children's results up (`work-summary.ts`). Pure of AWS: the caller stores the
 * files (S3 in the Lambda handlers).
 */

/** One image to copy: a line of the work list the Distributed Map reads. */
export interface WorkItem {
  readonly rule: string;
  /** `registry/repository:tag`. */
  readonly source: string;
  readonly destination: string;
  /** Bytes of the source image as its registry lists it (ECR: compressed layers); absent when unknown. */
  readonly size?: number | undefined;
  /** The rule's platform filter (`os/arch[/variant]`), when it has one. */
  readonly platforms?: readonly string[] | undefined;
}

export interface WorkPlan {
  /** What the children copy, largest first. */
  readonly items: readonly WorkItem[];
  /** Images already current at the destination (bulk comparison): their outcome, with the digest. */
  readonly current: readonly ImageReport[];
  readonly repositoriesCreated: readonly string[];
  /** Failures outside a single image (discovery, repository creation, conflicting destinations). */
  readonly problems: readonly string[];
  readonly totals: {
    readonly items: number;
    readonly upToDate: number;
    /** Sum of the known item sizes. */
    readonly bytes: number;
    /** Items whose size the source does not list (not ECR). */
    readonly unknownSize: number;
  };
}

function workItem(copy: PlannedCopy, platforms: readonly Platform[] | undefined): WorkItem {
  return {
    rule: copy.rule,
    source: formatReference(copy.source),
    destination: formatReference(copy.destination),
    ...(copy.sourceSize !== undefined ? { size: copy.sourceSize } : {}),
    ...(platforms ? { platforms: platforms.map(formatPlatform) } : {}),
  };
}

/**
 * Plans a run: every rule's copies, the destination ECR repositories listed (and created when missing),
 * and the copies whose digests already match left out of the work list. An image whose digests are not
 * both listed (a registry that is not ECR) is an item: its child decides with a manifest HEAD on each side.
 */
export async function planWork(
  rules: readonly SyncRule[],
  deps: SyncDeps,
  options: { readonly repositorySettings: EcrRepositorySettings; readonly signal?: AbortSignal },
): Promise<WorkPlan> {
  const { copies, problems } = await planSync(rules, deps, options.signal);
  const destinations = await readDestinations(copies, deps.ecr, options);
  const platformsOf = new Map(rules.map((r) => [r.name, r.platforms]));
  const items: WorkItem[] = [];
  const current: ImageReport[] = [];
  for (const copy of copies) {
    if (destinations.unusable.has(`${copy.destination.registry}/${copy.destination.repository}`)) continue;
    const known = knownCurrent(copy, destinations);
    if (known?.current) current.push(upToDateReport(copy, known.digest));
    else items.push(workItem(copy, platformsOf.get(copy.rule)));
  }
  // Largest first: a batch of big images starts early, and small ones fill the end of the run.
  items.sort((a, b) => (b.size ?? 0) - (a.size ?? 0) || a.source.localeCompare(b.source));
  return {
    items,
    current,
    repositoriesCreated: destinations.created,
    problems: [...problems, ...destinations.problems],
    totals: {
      items: items.length,
      upToDate: current.length,
      bytes: items.reduce((sum, i) => sum + (i.size ?? 0), 0),
      unknownSize: items.filter((i) => i.size === undefined).length,
    },
  };
}
