import { parseArgs } from "node:util";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { imageJobConfig, imageJobConfigSchema } from "@gitpod-dr/core/config/images";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { imageSyncDeps, registryTransports } from "@gitpod-dr/core/registry/clients";
import type { CopyEvent, ImageReport } from "@gitpod-dr/core/registry/copy";
import { CopySession } from "@gitpod-dr/core/registry/copy";
import { ImageSyncIncompleteError } from "@gitpod-dr/core/registry/errors";
import { type ImageSyncSummary, runImageSyncJob } from "@gitpod-dr/core/registry/job";
import { parsePlatform } from "@gitpod-dr/core/registry/manifest";
import { parseReference, parseRegistryHost } from "@gitpod-dr/core/registry/reference";
import { dockerConfigCredentials } from "./docker-config.ts";
import { formatBytes, formatImageReport, formatSyncSummary } from "./format.ts";
import { loadStageSection, parseJobFlags } from "./stage.ts";

export interface ImageIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rewrites one status line in place (a terminal); absent when output is not a TTY. */
  progress?: (text: string) => void;
}

class Progress {
  private bytes = 0;
  private blobs = 0;
  private skipped = 0;
  private mounted = 0;
  private images = 0;
  private last = 0;
  constructor(
    private readonly io: ImageIo,
    /** Print a line per finished image when not on a terminal (sync); copy-image prints its report once. */
    private readonly imageLines: boolean,
  ) {}

  readonly onEvent = (event: CopyEvent): void => {
    if (event.kind === "bytes") this.bytes += event.bytes;
    else if (event.kind === "blob") {
      this.blobs++;
      if (event.action === "skipped") this.skipped++;
      if (event.action === "mounted") this.mounted++;
    } else {
      this.images++;
      if (!this.io.progress && this.imageLines) this.io.err(formatImageReport(event.report));
    }
    const now = Date.now();
    if (this.io.progress && (now - this.last > 100 || event.kind !== "bytes")) {
      this.last = now;
      this.io.progress(
        `${this.images} image(s) done, ${formatBytes(this.bytes)} moved, ${this.blobs} blob(s) (${this.skipped} present, ${this.mounted} mounted)`,
      );
    }
  };

  done(): void {
    this.io.progress?.("");
  }
}

/** `gitpod-dr copy-image SRC DST`: one image, every digest unchanged. */
export async function copyImageCommand(args: string[], io: ImageIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      platform: { type: "string", multiple: true, default: [] },
      "insecure-registry": { type: "string", multiple: true, default: [] },
      concurrency: { type: "string" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 2) {
    throw new InvalidInputError(
      `copy-image needs exactly two references, SRC and DST (got ${positionals.length}); e.g. gitpod-dr copy-image ghcr.io/org/app:1.0 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0`,
    );
  }
  const source = parseReference(positionals[0] as string);
  const destination = parseReference(positionals[1] as string, { defaultTag: source.tag ?? "latest" });
  const platforms = (values.platform ?? []).map((p) => {
    try {
      return parsePlatform(p);
    } catch (error) {
      throw new InvalidInputError(`--platform: ${(error as Error).message}`);
    }
  });
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64)
  ) {
    throw new InvalidInputError(
      `--concurrency must be a whole number from 1 to 64, not "${values.concurrency}"`,
    );
  }
  const insecure = (values["insecure-registry"] ?? []).map((h) => parseRegistryHost(h));
  const transportFor = registryTransports(new ClientCache(), {
    providers: await dockerConfigCredentials(),
    insecure,
  });
  const progress = new Progress(io, false);
  const session = new CopySession(transportFor, {
    ...(platforms.length > 0 ? { platforms } : {}),
    ...(concurrency ? { concurrency } : {}),
    force: values.force ?? false,
    onEvent: progress.onEvent,
  });
  const report: ImageReport = await session.copyImage(source, destination);
  progress.done();
  io.out(values.json ? JSON.stringify(report, null, 2) : formatImageReport(report));
  return report.status === "failed" ? 1 : 0;
}

/** `gitpod-dr sync-images --config FILE`: the scheduled job, run from a laptop. */
export async function syncImagesCommand(args: string[], io: ImageIo): Promise<number> {
  const values = parseJobFlags(args, {
    "insecure-registry": { type: "string", multiple: true, default: [] },
  });
  const { stage, section: images } = await loadStageSection(
    values.config,
    "sync-images",
    "images",
    "there is nothing to sync",
  );
  // Decoded as the function decodes its GITPOD_DR_CONFIG (platforms from their text form).
  const jobConfig = imageJobConfigSchema.parse(imageJobConfig(stage, images));
  const deps = imageSyncDeps(jobConfig, new ClientCache(), {
    providers: await dockerConfigCredentials(),
    insecure: (values["insecure-registry"] ?? []).map((h) => parseRegistryHost(h)),
  });
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
    return 0;
  } catch (error) {
    progress.done();
    if (error instanceof ImageSyncIncompleteError && error.summary) print(error.summary as ImageSyncSummary);
    throw error;
  }
}
