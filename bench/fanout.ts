/**
 * `npm run bench:fanout`: the scale figure of the image sync workflow (issue 18 §3), as a MODEL.
 *
 * Measured: one child (`copyWorkBatch`, the code the workflow's child Lambda runs) copying a batch of
 * images between two local registries (Debian's docker-registry, tuned), median of BENCH_RUNS runs,
 * each into a fresh destination: images and bytes per second of one child.
 *
 * Modelled: images and GB per hour for 1, 10 and 50 concurrent children = children × the measured
 * per-child rate, capped by ECR's published request quotas (per account and region; see the README,
 * "Fan-out") for the requests that pushing those images takes. Loopback has no network limit: a Lambda
 * function's own bandwidth (which grows with its memory) is the bound this model does not know.
 */

import { ClientCache } from "../packages/core/src/aws/cache.ts";
import { registryTransports } from "../packages/core/src/registry/clients.ts";
import type { WorkItem } from "../packages/core/src/registry/work.ts";
import { copyWorkBatch } from "../packages/core/src/registry/work-copy.ts";
import { type Layer, pushImage, randomLayer } from "../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../packages/sim/src/registry/server.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 12);
const MB = 1024 * 1024;

/** ECR quotas (requests per second, per account and region) the model applies; README "Fan-out". */
const ECR = {
  putImagePerSecond: 10,
  uploadLayerPartPerSecond: 500,
  initiateLayerUploadPerSecond: 100,
  completeLayerUploadPerSecond: 100,
  /** The chunk the engine uploads above 64 MiB (ECR's minimum part is 5 MiB); below, one PUT. */
  partBytes: 32 * MB,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const servers: RegistryServer[] = [];
  const registry = async () => {
    const r = await startRegistry({ tuned: true });
    servers.push(r);
    return r;
  };
  try {
    const src = await registry();
    // A workspace image in miniature: 4 layers of 2-8 MiB (not compressible), a shared base layer.
    const base: Layer = randomLayer(8 * MB, { gzip: false, seed: 999 });
    let layersPerImage = 0;
    let bytes = 0;
    for (let i = 0; i < IMAGES; i++) {
      const layers = [
        base,
        ...[2, 3, 4].map((m, j) => randomLayer(m * MB, { gzip: false, seed: i * 10 + j })),
      ];
      layersPerImage = layers.length;
      const pushed = await pushImage(src.host, "workspace-images", `build-${i}`, { layers });
      bytes += pushed.blobs.reduce((s, b) => s + b.size, 0);
    }
    const uniqueBytes = bytes - (IMAGES - 1) * base.bytes.length;
    const rates: { images: number; bytes: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const dst = await registry();
      const items: WorkItem[] = Array.from({ length: IMAGES }, (_, i) => ({
        rule: "bench",
        source: `${src.host}/workspace-images:build-${i}`,
        destination: `${dst.host}/workspace-images:build-${i}`,
      }));
      const transportFor = registryTransports(new ClientCache(), { insecure: [src.host, dst.host] });
      const started = performance.now();
      const result = await copyWorkBatch(items, transportFor, { concurrency: 6, imageConcurrency: 4 });
      const seconds = (performance.now() - started) / 1000;
      if (result.images.some((r) => r.status !== "copied")) throw new Error("a copy failed");
      rates.push({ images: IMAGES / seconds, bytes: uniqueBytes / seconds });
    }
    const perChild = { images: median(rates.map((r) => r.images)), bytes: median(rates.map((r) => r.bytes)) };
    const imageBytes = uniqueBytes / IMAGES;
    const partsPerImage = Math.ceil(imageBytes / ECR.partBytes) + layersPerImage;
    // The most images per second ECR's quotas allow for images like these.
    const ecrCap = Math.min(
      ECR.putImagePerSecond,
      ECR.uploadLayerPartPerSecond / partsPerImage,
      ECR.initiateLayerUploadPerSecond / layersPerImage,
      ECR.completeLayerUploadPerSecond / layersPerImage,
    );
    console.log(
      `node ${process.version}; ${IMAGES} images of ${layersPerImage} layers, ${(imageBytes / MB).toFixed(1)} MiB each (new bytes), runs: ${RUNS}`,
    );
    console.log(
      `measured, one child (loopback): ${perChild.images.toFixed(1)} images/s, ${(perChild.bytes / MB).toFixed(0)} MiB/s`,
    );
    console.log(
      `ECR cap for such images: ${ecrCap.toFixed(1)} images/s (PutImage ${ECR.putImagePerSecond}/s, UploadLayerPart ${ECR.uploadLayerPartPerSecond}/s, Initiate/Complete ${ECR.initiateLayerUploadPerSecond}/s)`,
    );
    console.log("\nMODEL (children × measured rate, capped by ECR's quotas):");
    for (const children of [1, 10, 50]) {
      const imagesPerSecond = Math.min(children * perChild.images, ecrCap);
      const bound = children * perChild.images > ecrCap ? "ECR quota" : "children";
      console.log(
        `  ${String(children).padStart(2)} children: ${Math.round(imagesPerSecond * 3600).toLocaleString("en")} images/h, ` +
          `${((imagesPerSecond * imageBytes * 3600) / 1e9).toFixed(0)} GB/h (bound: ${bound})`,
      );
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

await main();
