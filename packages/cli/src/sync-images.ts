import { imageJobConfig, imageJobConfigSchema } from "@gitpod-dr/core/config/images";
import { ImageSyncIncompleteError } from "@gitpod-dr/core/registry/errors";
import { type ImageSyncSummary, runImageSyncJob } from "@gitpod-dr/core/registry/job";
import { ecrRegistry, parseRegistryHost } from "@gitpod-dr/core/registry/reference";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import type { SyncDeps } from "@gitpod-dr/core/registry/sync";
import { EXIT_OK, type Io } from "./command.ts";
import { dockerConfigCredentials } from "./docker-config.ts";
import { formatSyncSummary } from "./format.ts";
import { Progress } from "./progress.ts";
import { loadStageSection, parseJobFlags } from "./stage.ts";

/** `gitpod-dr sync-images --config FILE`: the scheduled job, run from a laptop. */
export async function syncImagesCommand(args: string[], io: Io): Promise<number> {
  const values = parseJobFlags(args, {
    "insecure-registry": { type: "string", multiple: true, default: [] },
  });
  const { stage, section: images } = await loadStageSection(
    values.config,
    "sync-images",
    "images",
    "there is nothing to sync",
    io,
  );
  // Decoded as the function decodes its GITPOD_DR_CONFIG (platforms from their text form).
  const jobConfig = imageJobConfigSchema.parse(imageJobConfig(stage, images));
  const ecrRegion = jobConfig.images.rules
    .flatMap((r) => [r.source.registry, r.destination.registry])
    .map((host) => ecrRegistry(host)?.region)
    .find(Boolean);
  // Lazy: the AWS SDK only for rules that involve ECR (the credentials checked first). Between other
  // registries the CLI uses the docker login, not the Secrets Manager ARNs the scheduled job reads.
  const ecr = ecrRegion
    ? await (await import("./ecr-access.ts")).ecrAccess(ecrRegion, io)
    : () => {
        throw new Error("no ECR registry in this stage's rules");
      };
  const deps: SyncDeps = {
    ecr,
    transportFor: transportPool({
      credentials: credentialsFor({
        providers: await dockerConfigCredentials(),
        ...(ecrRegion ? { ecr } : {}),
      }),
      insecure: (values["insecure-registry"] ?? []).map((h) => parseRegistryHost(h)),
    }),
  };
  const progress = new Progress(io, true);
  const print = (summary: ImageSyncSummary) =>
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatSyncSummary(summary));
  try {
    const summary = await runImageSyncJob(jobConfig, deps, {
      dryRun: values["dry-run"] ?? false,
      onEvent: progress.onEvent,
      logger: { info: () => undefined, warn: (m) => io.err(`warning: ${m}`) },
    });
    progress.done();
    print(summary);
    return EXIT_OK;
  } catch (error) {
    progress.done();
    if (error instanceof ImageSyncIncompleteError && error.summary) {
      // The failures the error lists (images and whole rules, such as a repository that cannot be
      // listed) are the summary's count too, so stdout and stderr agree.
      const summary = error.summary as ImageSyncSummary;
      print({ ...summary, totals: { ...summary.totals, failed: error.problems.length } });
    }
    throw error;
  }
}
