import { parseArgs } from "node:util";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { CopySession, type ImageReport } from "@gitpod-dr/core/registry/copy";
import { MAX_CONCURRENCY } from "@gitpod-dr/core/registry/limits";
import { parsePlatform } from "@gitpod-dr/core/registry/manifest";
import { ecrRegistry, parseReference, parseRegistryHost } from "@gitpod-dr/core/registry/reference";
import { credentialsFor, transportPool } from "@gitpod-dr/core/registry/registries";
import { EXIT_FAILED, EXIT_OK, type Io } from "./command.ts";
import { dockerConfigCredentials } from "./docker-config.ts";
import { formatImageReport, tlsHint } from "./format.ts";
import { Progress } from "./progress.ts";

/** `--concurrency N`, in the range the stage configuration allows. */
export function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY))
    throw new InvalidInputError(
      `--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, not "${text}"`,
    );
  return n;
}

/** `gitpod-dr copy-image SRC DST`: one image, every digest unchanged. */
export async function copyImageCommand(args: string[], io: Io): Promise<number> {
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
  const concurrency = parseConcurrency(values.concurrency);
  const insecure = (values["insecure-registry"] ?? []).map((h) => parseRegistryHost(h));
  const ecrRegion = [source, destination].map((r) => ecrRegistry(r.registry)?.region).find(Boolean);
  // Lazy: the AWS SDK only for a copy that involves ECR. A copy between two other registries loads
  // 0.5 MB of bundled code instead of 1.4 MB (`npm run build`, dist/ chunk sizes).
  const ecr = ecrRegion ? await (await import("./ecr-access.ts")).ecrAccess(ecrRegion, io) : undefined;
  const transportFor = transportPool({
    credentials: credentialsFor({ providers: await dockerConfigCredentials(), ...(ecr ? { ecr } : {}) }),
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
  if (report.status !== "failed") return EXIT_OK;
  const hint = tlsHint(report.error?.message ?? "", [source.registry, destination.registry], insecure);
  if (hint) io.err(hint);
  return EXIT_FAILED;
}
