/**
 * `syncImages` between two real registries behind recording proxies: a prefix rule (`app/*`) with a tag
 * regex mirrors exactly the selected tags under `mirror/`, shares blobs across images, reports an image
 * that is broken in the source as failed while the others are copied, and a second run is up to date
 * without moving a byte.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TransportFor } from "../../packages/core/src/registry/copy.ts";
import {
  type SyncReport,
  type SyncRule,
  syncImages,
  syncProblems,
} from "../../packages/core/src/registry/sync.ts";
import {
  getBlob,
  getManifest,
  listTags,
  manifestDigest,
  type PushedImage,
  pushImage,
  pushMultiPlatform,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type FaultProxy, startProxy } from "../../packages/sim/src/registry/proxy.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import {
  engineTransports,
  incompleteManifests,
  noSleep,
  storedRepositories,
} from "../fixtures/registry/engine.ts";

const SYNC_OPTIONS = {
  repositorySettings: { tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } },
  concurrency: 4,
  sleep: noSleep,
} as const;

describe("syncImages with a prefix rule", () => {
  let s: RegistryServer;
  let d: RegistryServer;
  let ps: FaultProxy;
  let pd: FaultProxy;
  let transportFor: TransportFor;
  let rules: SyncRule[];
  /** The images the rule selects and that can be copied: "repo:tag" → image. */
  const good = new Map<string, PushedImage>();
  let broken: PushedImage;
  let first: SyncReport;

  const deps = () => ({
    transportFor,
    ecr: (): never => {
      throw new Error("no ECR here");
    },
  });

  beforeAll(async () => {
    [s, d] = await Promise.all([startRegistry(), startRegistry()]);
    [ps, pd] = await Promise.all([startProxy(s.url), startProxy(d.url)]);
    transportFor = engineTransports({ insecure: [ps.host, pd.host] });
    rules = [
      {
        name: "apps",
        source: { registry: ps.host },
        repositories: ["app/*"],
        tags: { include: "v\\d+\\.\\d+", exclude: "v0\\..*" },
        destination: { registry: pd.host, repositoryPrefix: "mirror/" },
      },
      {
        name: "misc",
        source: { registry: ps.host },
        repositories: ["other/x"],
        destination: { registry: pd.host, repositoryPrefix: "mirror/misc/", stripPrefix: "other/" },
      },
    ];

    const base = randomLayer(128 * 1024, { seed: 80 });
    const layer = (seed: number) => randomLayer(8 * 1024, { seed });
    good.set("app/one:v1.0", await pushImage(s.host, "app/one", "v1.0", { layers: [base, layer(81)] }));
    good.set("app/one:v1.1", await pushImage(s.host, "app/one", "v1.1", { layers: [base, layer(82)] }));
    await pushImage(s.host, "app/one", "dev", { layers: [layer(83)] });
    good.set("app/two:v1.0", await pushImage(s.host, "app/two", "v1.0", { layers: [base, layer(84)] }));
    await pushImage(s.host, "app/two", "latest", { layers: [layer(85)] });
    await pushImage(s.host, "app/two", "v0.9", { layers: [layer(90)] });
    const { index } = await pushMultiPlatform(
      s.host,
      "app/three",
      "v2.0",
      [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      { layerSize: 8 * 1024, seed: 86 },
    );
    good.set("app/three:v2.0", index);
    good.set("other/x:v1.0", await pushImage(s.host, "other/x", "v1.0", { layers: [layer(88)] }));
    await pushImage(s.host, "apps/z", "v1.0", { layers: [layer(89)] });

    // A manifest whose layer is missing from its repository. distribution refuses to store such a
    // manifest (MANIFEST_BLOB_UNKNOWN), so push a good one and unlink the layer from the repository.
    broken = await pushImage(s.host, "app/broken", "v1.0", { layers: [layer(87)] });
    const missing = (broken.blobs[1] as { digest: string }).digest;
    await rm(
      path.join(
        s.root,
        "docker/registry/v2/repositories/app/broken/_layers/sha256",
        missing.slice("sha256:".length),
      ),
      { recursive: true },
    );
    await expect(getBlob(s.host, "app/broken", missing)).rejects.toThrow(/404/);
    expect(await manifestDigest(s.host, "app/broken", "v1.0")).toBe(broken.digest);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([ps?.stop(), pd?.stop()]);
    await Promise.all([s?.stop(), d?.stop()]);
  });

  /** Where the rules put a source repository. */
  const mirrored = (repo: string) =>
    repo.startsWith("other/") ? `mirror/misc/${repo.slice(6)}` : `mirror/${repo}`;
  const split = (key: string) => key.split(":") as [string, string];

  it("a dry run lists the copies to make and writes nothing", async () => {
    const dry = await syncImages(rules, deps(), { ...SYNC_OPTIONS, dryRun: true });
    expect(dry.images).toEqual([]);
    expect(
      dry.wouldCopy
        .map((c) => `${c.source.repository}:${c.source.tag} -> ${c.destination.repository}`)
        .sort(),
    ).toEqual([
      "app/broken:v1.0 -> mirror/app/broken",
      "app/one:v1.0 -> mirror/app/one",
      "app/one:v1.1 -> mirror/app/one",
      "app/three:v2.0 -> mirror/app/three",
      "app/two:v1.0 -> mirror/app/two",
      "other/x:v1.0 -> mirror/misc/x",
    ]);
    expect(pd.requests.filter((r) => r.method !== "HEAD" && r.method !== "GET")).toEqual([]);
    expect(await storedRepositories(d.root)).toEqual([]);
  });

  it("defers every copy when it may not start any", async () => {
    const deferred = await syncImages(rules, deps(), { ...SYNC_OPTIONS, canStart: () => false });
    expect(deferred.totals).toMatchObject({ copied: 0, failed: 0, deferred: 6 });
    expect(await storedRepositories(d.root)).toEqual([]);
  });

  it("copies exactly the selected tags, reports the broken image as failed and the others as copied", async () => {
    first = await syncImages(rules, deps(), SYNC_OPTIONS);
    expect(first.problems).toEqual([]);
    expect(first.deferred).toEqual([]);
    expect(first.repositoriesCreated).toEqual([]);
    expect(
      first.images.map((r) => [
        r.source.replace(`${ps.host}/`, ""),
        r.destination.replace(`${pd.host}/`, ""),
        r.status,
      ]),
    ).toEqual([
      ["app/broken:v1.0", "mirror/app/broken:v1.0", "failed"],
      ["app/one:v1.0", "mirror/app/one:v1.0", "copied"],
      ["app/one:v1.1", "mirror/app/one:v1.1", "copied"],
      ["app/three:v2.0", "mirror/app/three:v2.0", "copied"],
      ["app/two:v1.0", "mirror/app/two:v1.0", "copied"],
      ["other/x:v1.0", "mirror/misc/x:v1.0", "copied"],
    ]);
    expect(first.totals).toMatchObject({ copied: good.size, upToDate: 0, failed: 1, deferred: 0 });
    for (const report of first.images) {
      if (report.status === "copied")
        expect(report.digest).toBe(good.get(report.source.replace(`${ps.host}/`, ""))?.digest);
    }

    const failed = first.images.find((r) => r.status === "failed");
    expect(failed?.error).toMatchObject({ name: "RegistryError", code: "BLOB_UNKNOWN" });
    expect(syncProblems(first)).toHaveLength(1);
    expect(syncProblems(first)[0]).toContain("app/broken:v1.0");

    // Blob accounting over the good images: every distinct blob moved once; the shared base layer was
    // mounted into the second repository and skipped for the second tag of the same repository.
    const blobs = [...good.entries()].map(([key, image]) => ({ repo: split(key)[0], image }));
    const distinct = new Map(blobs.flatMap(({ image }) => image.blobs.map((b) => [b.digest, b.size])));
    const repoPairs = new Set(
      blobs.flatMap(({ repo, image }) => image.blobs.map((b) => `${repo}@${b.digest}`)),
    );
    const imagePairs = blobs.reduce((n, { image }) => n + image.blobs.length, 0);
    const sum = (key: "bytesMoved" | "blobsCopied" | "blobsMounted" | "blobsSkipped") =>
      first.totals[key] - (failed?.[key] ?? 0);
    expect(sum("blobsCopied")).toBe(distinct.size);
    expect(sum("blobsMounted")).toBe(repoPairs.size - distinct.size);
    expect(sum("blobsSkipped")).toBe(imagePairs - repoPairs.size);
    expect(sum("blobsMounted")).toBe(1);
    expect(sum("blobsSkipped")).toBe(1);
    expect(sum("bytesMoved")).toBe([...distinct.values()].reduce((n, size) => n + size, 0));
  });

  it("leaves the destination with exactly the selected tags, digests unchanged, and no broken manifest", async () => {
    const repos = (await storedRepositories(d.root)).filter((r) => r !== "mirror/app/broken");
    expect(repos).toEqual(["mirror/app/one", "mirror/app/three", "mirror/app/two", "mirror/misc/x"]);
    expect((await listTags(d.host, "mirror/app/one")).sort()).toEqual(["v1.0", "v1.1"]);
    expect(await listTags(d.host, "mirror/app/two")).toEqual(["v1.0"]);
    expect(await listTags(d.host, "mirror/app/three")).toEqual(["v2.0"]);
    expect(await listTags(d.host, "mirror/misc/x")).toEqual(["v1.0"]);
    expect(await listTags(d.host, "mirror/app/broken")).toEqual([]);
    expect(await manifestDigest(d.host, "mirror/app/broken", broken.digest)).toBeUndefined();
    for (const [key, image] of good) {
      const [repo, tag] = split(key);
      const copied = await getManifest(d.host, mirrored(repo), tag);
      expect(copied.digest).toBe(image.digest);
      expect(copied.bytes).toEqual(image.manifest);
    }
    const { checked, problems } = await incompleteManifests(d);
    expect(problems).toEqual([]);
    expect(checked).toBe(good.size + 2); // the index's 2 children too
  });

  it("a second run is up to date: nothing moved, one manifest HEAD per side per image", async () => {
    ps.requests.length = 0;
    pd.requests.length = 0;
    const again = await syncImages(rules, deps(), SYNC_OPTIONS);
    expect(again.totals).toMatchObject({
      copied: 0,
      upToDate: good.size,
      failed: 1,
      bytesMoved: 0,
      blobsCopied: 0,
      blobsMounted: 0,
    });
    for (const report of again.images) {
      if (report.status !== "failed") expect(report).toMatchObject({ status: "up-to-date", bytesMoved: 0 });
    }
    expect(again.images.find((r) => r.status === "failed")?.error?.code).toBe("BLOB_UNKNOWN");

    for (const [proxy, side] of [
      [ps, (repo: string) => repo],
      [pd, mirrored],
    ] as const) {
      const goodRepos = [...new Set([...good.keys()].map((k) => side(split(k)[0])))];
      const inGood = proxy.requests.filter((r) =>
        goodRepos.some((repo) => r.path.startsWith(`/v2/${repo}/`)),
      );
      expect(inGood.filter((r) => r.path.includes("/blobs/"))).toEqual([]);
      expect(
        inGood
          .filter((r) => r.path.includes("/manifests/"))
          .map((r) => `${r.method} ${r.path}`)
          .sort(),
      ).toEqual(
        [...good.keys()]
          .map((key) => {
            const [repo, tag] = split(key);
            return `HEAD /v2/${side(repo)}/manifests/${tag}`;
          })
          .sort(),
      );
    }
    // The destination's only writes were for the broken image's attempt, which pushed no manifest.
    expect(pd.requests.filter((r) => r.method === "PUT" && r.path.includes("/manifests/"))).toEqual([]);
  });
});

describe("syncImages stopped by the deadline while copying", () => {
  let s: RegistryServer;
  let d: RegistryServer;

  beforeAll(async () => {
    [s, d] = await Promise.all([startRegistry(), startRegistry()]);
  });
  afterAll(async () => {
    await Promise.all([s?.stop(), d?.stop()]);
  });

  it("leaves the image it was copying for the next run (deferred, not failed), and the next run completes it", async () => {
    // Prepare: one image large enough to be mid-transfer when the signal fires.
    const image = await pushImage(s.host, "big/app", "v1", {
      layers: [randomLayer(8 * 1024 * 1024, { gzip: false, seed: 7 })],
    });
    const transportFor = engineTransports({ insecure: [s.host, d.host] });
    const rules: SyncRule[] = [
      {
        name: "big",
        source: { registry: s.host },
        repositories: ["big/app"],
        destination: { registry: d.host },
      },
    ];
    const deps = {
      transportFor,
      ecr: (): never => {
        throw new Error("no ECR here");
      },
    };
    const stop = new AbortController();

    // Act: the deadline signal fires once bytes are moving.
    const stopped = await syncImages(rules, deps, {
      ...SYNC_OPTIONS,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.kind === "bytes") stop.abort();
      },
    });

    // Assess: deferred, nothing failed, no manifest without its blobs at the destination.
    expect(stopped.totals).toMatchObject({ failed: 0, deferred: 1, copied: 0 });
    expect(stopped.deferred.map((c) => c.destination.repository)).toEqual(["big/app"]);
    expect(syncProblems(stopped)).toEqual([]);
    expect(await manifestDigest(d.host, "big/app", "v1")).toBeUndefined();
    expect((await incompleteManifests(d)).problems).toEqual([]);

    // Act: the next run.
    const next = await syncImages(rules, deps, SYNC_OPTIONS);

    // Assess
    expect(next.totals).toMatchObject({ copied: 1, failed: 0, deferred: 0 });
    expect(await manifestDigest(d.host, "big/app", "v1")).toBe(image.digest);
  });
});

describe("syncImages with a platform-filtered rule beside an unfiltered one", () => {
  let s: RegistryServer;
  let d: RegistryServer;

  beforeAll(async () => {
    [s, d] = await Promise.all([startRegistry(), startRegistry()]);
  });
  afterAll(async () => {
    await Promise.all([s?.stop(), d?.stop()]);
  });

  it("shares one session: the filtered copy's blobs are not transferred a second time for the other rule", async () => {
    // Prepare: one 2-platform image, copied whole by one rule and arm64-only by another.
    const { index, children } = await pushMultiPlatform(
      s.host,
      "multi/app",
      "v1",
      [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      { layerSize: 64 * 1024, seed: 77 },
    );
    const arm = children.find((c) => c.platform?.architecture === "arm64") as PushedImage;
    const transportFor = engineTransports({ insecure: [s.host, d.host] });
    const rules: SyncRule[] = [
      {
        name: "arm-only",
        source: { registry: s.host },
        repositories: ["multi/app"],
        destination: { registry: d.host, repositoryPrefix: "arm/" },
        platforms: [{ os: "linux", architecture: "arm64" }],
      },
      {
        name: "all",
        source: { registry: s.host },
        repositories: ["multi/app"],
        destination: { registry: d.host },
      },
    ];
    const deps = {
      transportFor,
      ecr: (): never => {
        throw new Error("no ECR here");
      },
    };

    // Act
    const report = await syncImages(rules, deps, { ...SYNC_OPTIONS, imageConcurrency: 1 });

    // Assess: both copied; every distinct blob crossed once, the rest were mounted or found present.
    expect(report.totals).toMatchObject({ copied: 2, failed: 0 });
    const distinct = new Set(children.flatMap((c) => c.blobs.map((b) => b.digest)));
    expect(report.totals.blobsCopied).toBe(distinct.size);
    expect(report.totals.blobsMounted + report.totals.blobsSkipped).toBe(arm.blobs.length);
    expect(await manifestDigest(d.host, "multi/app", "v1")).toBe(index.digest);
    const armIndex = JSON.parse((await getManifest(d.host, "arm/multi/app", "v1")).bytes.toString("utf8"));
    expect(armIndex.manifests.map((m: { digest: string }) => m.digest)).toEqual([arm.digest]);
  });
});
