/**
 * The copy engine against two real distribution registries, each behind a recording proxy: every
 * image kind is copied with its digests unchanged (and identical to what `skopeo copy --all` makes),
 * a second copy moves nothing, a moved tag is copied again, blobs are mounted within one registry and a
 * platform filter keeps only the wanted child.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CopyOptions, CopySession, type TransportFor } from "../../packages/core/src/registry/copy.ts";
import { parseReference } from "../../packages/core/src/registry/reference.ts";
import {
  blobExists,
  EMPTY_LAYER,
  EMPTY_LAYER_DIGEST,
  getManifest,
  listTags,
  MediaTypes,
  manifestDigest,
  type PushedImage,
  pushImage,
  pushMultiPlatform,
  randomLayer,
  randomLayerStream,
} from "../../packages/sim/src/registry/images.ts";
import { type FaultProxy, startProxy } from "../../packages/sim/src/registry/proxy.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import {
  engineTransports,
  eventLog,
  incompleteManifests,
  literal,
  noSleep,
  recorded,
} from "../fixtures/registry/engine.ts";
import { skopeoCopy } from "../fixtures/registry/skopeo.ts";

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
  { os: "linux", architecture: "arm", variant: "v7" },
];

const MiB = 1024 * 1024;
const UPLOAD_SIZES = { monolithicMax: 8 * MiB, chunkSize: 16 * MiB };
/** Every session's events; reset before each copy. `log.bytes()` is what was really streamed. */
const log = eventLog();
const SESSION: CopyOptions = {
  concurrency: 4,
  uploadSizes: UPLOAD_SIZES,
  sleep: noSleep,
  onEvent: log.onEvent,
};
const totalSize = (blobs: readonly { size: number }[]) => blobs.reduce((n, blob) => n + blob.size, 0);

interface SourceImage {
  repo: string;
  tag: string;
  image: PushedImage;
  children: PushedImage[];
}

describe("copy engine between two registries", () => {
  let a: RegistryServer;
  let b: RegistryServer;
  let pa: FaultProxy;
  let pb: FaultProxy;
  let transportFor: TransportFor;
  const images: Record<string, SourceImage> = {};

  const src = (repo: string, tag: string) => parseReference(`${pa.host}/${repo}:${tag}`);
  const dst = (repo: string, tag: string) => parseReference(`${pb.host}/${repo}:${tag}`);
  const clearRecordings = () => {
    pa.requests.length = 0;
    pb.requests.length = 0;
    log.reset();
  };

  const single = async (repo: string, tag: string, opts: Parameters<typeof pushImage>[3]) => {
    const image = await pushImage(a.host, repo, tag, opts);
    images[`${repo}:${tag}`] = { repo, tag, image, children: [] };
    return image;
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    [pa, pb] = await Promise.all([startProxy(a.url), startProxy(b.url)]);
    transportFor = engineTransports({ insecure: [pa.host, pb.host] });

    await single("img/oci", "v1", {
      layers: [randomLayer(64 * 1024, { seed: 1 }), randomLayer(16 * 1024, { seed: 2 })],
    });
    await single("img/docker", "v1", {
      layers: [randomLayer(48 * 1024, { seed: 3 }), randomLayer(8 * 1024, { seed: 4 })],
      format: "docker",
    });
    for (const [repo, format, seed] of [
      ["img/oci-index", "oci", 10],
      ["img/docker-list", "docker", 20],
    ] as const) {
      const { index, children } = await pushMultiPlatform(a.host, repo, "v1", PLATFORMS, {
        layerSize: 16 * 1024,
        seed,
        format,
      });
      images[`${repo}:v1`] = { repo, tag: "v1", image: index, children };
    }
    await single("img/empty", "v1", {
      layers: [EMPTY_LAYER, randomLayer(8 * 1024, { seed: 40 }), EMPTY_LAYER],
      format: "docker",
    });
    const base = randomLayer(256 * 1024, { seed: 30 });
    await single("share/one", "v1", { layers: [base, randomLayer(4096, { seed: 31 })] });
    await single("share/two", "v1", { layers: [base, randomLayer(4096, { seed: 32 })] });
    await single("share/one", "v2", { layers: [base, randomLayer(4096, { seed: 33 })] });
    const big = await randomLayerStream(70 * MiB, { seed: 50 });
    await single("img/big", "v1", { layers: [randomLayer(4096, { seed: 51 }), big] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([pa?.stop(), pb?.stop()]);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** The destination (and skopeo's copy into `skopeo/<repo>`) hold exactly the source's manifests and blobs. */
  async function expectFaithfulCopy(key: string, dstRepo: string = images[key]?.repo ?? "") {
    const { repo, tag, image, children } = images[key] as SourceImage;
    const source = await getManifest(a.host, repo, tag);
    const copied = await getManifest(b.host, dstRepo, tag);
    expect(source.digest).toBe(image.digest);
    expect(copied.digest).toBe(image.digest);
    expect(copied.bytes).toEqual(source.bytes);
    expect(copied.mediaType).toBe(image.mediaType);
    for (const child of children) {
      expect(await manifestDigest(b.host, dstRepo, child.digest)).toBe(child.digest);
    }
    for (const blob of image.blobs) expect(await blobExists(b.host, dstRepo, blob.digest)).toBe(true);

    // --preserve-digests: without it skopeo gzips uncompressed layers (the 70 MB one) on the way to a
    // registry, which changes the digests; with it skopeo is the digest-preserving reference.
    await skopeoCopy(`${a.host}/${repo}:${tag}`, `${b.host}/skopeo/${repo}:${tag}`, {
      all: true,
      extraArgs: ["--preserve-digests"],
    });
    expect(await manifestDigest(b.host, `skopeo/${repo}`, tag)).toBe(copied.digest);
    for (const child of children) {
      expect(await manifestDigest(b.host, `skopeo/${repo}`, child.digest)).toBe(child.digest);
    }
  }

  it.each([
    ["an OCI image with gzip layers", "img/oci:v1", MediaTypes.ociManifest, 1],
    ["a Docker schema 2 image", "img/docker:v1", MediaTypes.dockerManifest, 1],
    ["a 3-platform OCI index", "img/oci-index:v1", MediaTypes.ociIndex, 4],
    ["a 3-platform Docker manifest list", "img/docker-list:v1", MediaTypes.dockerList, 4],
  ])("copies %s with every digest unchanged", async (_, key, mediaType, manifests) => {
    const { repo, tag, image } = images[key] as SourceImage;
    expect(image.mediaType).toBe(mediaType);
    log.reset();
    const report = await new CopySession(transportFor, SESSION).copyImage(src(repo, tag), dst(repo, tag));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({
      status: "copied",
      digest: image.digest,
      blobsCopied: image.blobs.length,
      blobsSkipped: 0,
      blobsMounted: 0,
      manifestsPushed: manifests,
    });
    expect(log.bytes()).toBe(totalSize(image.blobs));
    expect(report.bytesMoved).toBe(totalSize(image.blobs));
    await expectFaithfulCopy(key);
  });

  it("copies an image whose layers include the (repeated) empty layer", async () => {
    const { image } = images["img/empty:v1"] as SourceImage;
    const layers = (JSON.parse(image.manifest.toString()) as { layers: { digest: string }[] }).layers;
    expect(layers.map((l) => l.digest).filter((d) => d === EMPTY_LAYER_DIGEST)).toHaveLength(2);
    expect(image.blobs).toHaveLength(3); // config, empty layer once, random layer

    const report = await new CopySession(transportFor, SESSION).copyImage(
      src("img/empty", "v1"),
      dst("img/empty", "v1"),
    );
    expect(report).toMatchObject({
      status: "copied",
      digest: image.digest,
      blobsCopied: 3,
      manifestsPushed: 1,
    });
    expect(await blobExists(b.host, "img/empty", EMPTY_LAYER_DIGEST)).toBe(true);
    // The empty layer went up once, although the manifest lists it twice.
    const uploads = recorded(
      pb,
      "PUT",
      new RegExp(`/v2/img/empty/blobs/uploads/.*${EMPTY_LAYER_DIGEST.slice(7)}`),
    );
    expect(uploads).toHaveLength(1);
    await expectFaithfulCopy("img/empty:v1");
  });

  it("copies by digest, with no tag, and an image with a zero-length layer", async () => {
    const zero = await pushImage(a.host, "img/zero", "v1", {
      layers: [{ bytes: Buffer.alloc(0), mediaType: MediaTypes.ociLayer }, randomLayer(1024, { seed: 60 })],
    });
    expect(zero.blobs.some((blob) => blob.size === 0)).toBe(true);
    const session = new CopySession(transportFor, SESSION);
    const byDigest = (host: string, repo: string) => parseReference(`${host}/${repo}@${zero.digest}`);
    const report = await session.copyImage(byDigest(pa.host, "img/zero"), byDigest(pb.host, "bydigest/zero"));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: zero.digest, blobsCopied: 3 });
    expect(await manifestDigest(b.host, "bydigest/zero", zero.digest)).toBe(zero.digest);
    expect(await listTags(b.host, "bydigest/zero")).toEqual([]);
    for (const blob of zero.blobs) expect(await blobExists(b.host, "bydigest/zero", blob.digest)).toBe(true);
    const again = await session.copyImage(byDigest(pa.host, "img/zero"), byDigest(pb.host, "bydigest/zero"));
    expect(again).toMatchObject({ status: "up-to-date", bytesMoved: 0 });
  });

  it("moves a layer shared by two images once: mounted into another repository, skipped in the same one", async () => {
    const session = new CopySession(transportFor, SESSION);
    const one = images["share/one:v1"] as SourceImage;
    const two = images["share/two:v1"] as SourceImage;
    const three = images["share/one:v2"] as SourceImage;
    const base = one.image.blobs[1] as { digest: string; size: number };
    expect(two.image.blobs[1]?.digest).toBe(base.digest);
    expect(three.image.blobs[1]?.digest).toBe(base.digest);
    const sizeWithoutBase = (image: PushedImage) =>
      image.blobs.filter((blob) => blob.digest !== base.digest).reduce((n, blob) => n + blob.size, 0);

    clearRecordings();
    const first = await session.copyImage(src("share/one", "v1"), dst("share/one", "v1"));
    expect(first).toMatchObject({ status: "copied", blobsCopied: 3 });
    expect(log.bytes()).toBe(totalSize(one.image.blobs));
    expect(first.bytesMoved).toBe(totalSize(one.image.blobs));

    log.reset();
    const second = await session.copyImage(src("share/two", "v1"), dst("share/two", "v1"));
    expect(second).toMatchObject({
      status: "copied",
      digest: two.image.digest,
      blobsCopied: 2,
      blobsMounted: 1,
      blobsSkipped: 0,
    });
    expect(log.bytes()).toBe(sizeWithoutBase(two.image));
    expect(second.bytesMoved).toBe(sizeWithoutBase(two.image));
    expect(log.blobs("mounted")).toBe(1);
    const mounts = recorded(pb, "POST", /^\/v2\/share\/two\/blobs\/uploads\/\?mount=/);
    expect(mounts.map((r) => [r.path, r.status])).toEqual([
      [`/v2/share/two/blobs/uploads/?mount=${encodeURIComponent(base.digest)}&from=share%2Fone`, 201],
    ]);

    log.reset();
    const third = await session.copyImage(src("share/one", "v2"), dst("share/one", "v2"));
    expect(third).toMatchObject({
      status: "copied",
      digest: three.image.digest,
      blobsCopied: 2,
      blobsSkipped: 1,
      blobsMounted: 0,
    });
    expect(log.bytes()).toBe(sizeWithoutBase(three.image));
    expect(third.bytesMoved).toBe(sizeWithoutBase(three.image));
    // The shared layer was downloaded from the source exactly once.
    expect(recorded(pa, "GET", new RegExp(`/blobs/${base.digest}$`))).toHaveLength(1);
    for (const key of ["share/one:v1", "share/two:v1", "share/one:v2"]) await expectFaithfulCopy(key);
  });

  it("copies a 70 MB layer in chunked PATCHes, streaming", async () => {
    const { image } = images["img/big:v1"] as SourceImage;
    const big = image.blobs.find((blob) => blob.size > 64 * MiB) as { digest: string; size: number };
    expect(big).toBeDefined();
    clearRecordings();
    const report = await new CopySession(transportFor, SESSION).copyImage(
      src("img/big", "v1"),
      dst("img/big", "v1"),
    );
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: image.digest, blobsCopied: 3 });
    expect(log.bytes()).toBe(totalSize(image.blobs));

    const patches = recorded(pb, "PATCH", /^\/v2\/img\/big\/blobs\/uploads\//);
    expect(patches).toHaveLength(Math.ceil(big.size / UPLOAD_SIZES.chunkSize));
    expect(patches.every((r) => r.status === 202)).toBe(true);
    // Small blobs went up in one PUT each; the big one was closed by a PUT with its digest.
    const puts = recorded(pb, "PUT", /^\/v2\/img\/big\/blobs\/uploads\//);
    expect(puts.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(puts.filter((r) => r.path.includes(big.digest.slice(7)))).toHaveLength(1);
    await expectFaithfulCopy("img/big:v1");
  }, 30_000);

  it("counts the bytes of blobs transferred concurrently (no lost update of bytesMoved)", async () => {
    // Regression: `counters.bytesMoved += await streamBlob(…)` read the counter before the transfer and
    // kept only the last transfer's bytes. A barrier holds the first two blob GETs until both are in
    // flight, so both transfers overlap deterministically.
    const pool = engineTransports({ insecure: [pa.host, pb.host] });
    let waiting: (() => void)[] = [];
    let held = 0;
    const barrier: TransportFor = (host) => {
      const transport = pool(host);
      if (host === pa.host && !(transport as { barrier?: true }).barrier) {
        Object.assign(transport, { barrier: true });
        const send = transport.send.bind(transport);
        transport.send = async (options) => {
          if (options.method === "GET" && options.url.includes("/blobs/") && held++ < 2) {
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === 2) {
                for (const release of waiting) release();
                waiting = [];
              }
            });
          }
          return await send(options);
        };
      }
      return transport;
    };
    const { image } = images["img/docker:v1"] as SourceImage;
    log.reset();
    const report = await new CopySession(barrier, { ...SESSION, concurrency: 2 }).copyImage(
      src("img/docker", "v1"),
      dst("bytes/docker", "v1"),
    );
    expect(held).toBe(3);
    expect(report).toMatchObject({ status: "copied", digest: image.digest, blobsCopied: 3 });
    expect(log.bytes()).toBe(totalSize(image.blobs));
    expect(report.bytesMoved).toBe(totalSize(image.blobs));
  });

  it("leaves no manifest in the destination whose blobs or children are missing", async () => {
    const { checked, problems } = await incompleteManifests(b);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(2 * (Object.keys(images).length + 6));
  });

  it("a second copy is up to date: one manifest HEAD per side per image, no blob traffic", async () => {
    clearRecordings();
    const session = new CopySession(transportFor, SESSION);
    const keys = Object.keys(images);
    expect(keys).toHaveLength(9);
    for (const key of keys) {
      const { repo, tag, image } = images[key] as SourceImage;
      const report = await session.copyImage(src(repo, tag), dst(repo, tag));
      expect(report).toMatchObject({
        status: "up-to-date",
        digest: image.digest,
        bytesMoved: 0,
        blobsCopied: 0,
        blobsMounted: 0,
        manifestsPushed: 0,
      });
    }
    expect(log.bytes()).toBe(0);
    for (const proxy of [pa, pb]) {
      expect(proxy.requests.filter((r) => r.path.includes("/blobs/"))).toEqual([]);
      expect(proxy.requests.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual(
        keys
          .map((key) => {
            const { repo, tag } = images[key] as SourceImage;
            return `HEAD /v2/${repo}/manifests/${tag} 200`;
          })
          .sort(),
      );
    }
  });

  it("copies a tag again when its digest changed in the source", async () => {
    const before = images["img/oci:v1"] as SourceImage;
    const moved = await pushImage(a.host, "img/oci", "v1", {
      layers: [randomLayer(64 * 1024, { seed: 1 }), randomLayer(16 * 1024, { seed: 99 })],
    });
    expect(moved.digest).not.toBe(before.image.digest);
    const report = await new CopySession(transportFor, SESSION).copyImage(
      src("img/oci", "v1"),
      dst("img/oci", "v1"),
    );
    expect(report).toMatchObject({
      status: "copied",
      digest: moved.digest,
      blobsCopied: 2, // new config, new layer
      blobsSkipped: 1, // the unchanged first layer
      manifestsPushed: 1,
    });
    expect(await manifestDigest(b.host, "img/oci", "v1")).toBe(moved.digest);
    expect((await getManifest(b.host, "img/oci", "v1")).bytes).toEqual(moved.manifest);
    for (const blob of moved.blobs) expect(await blobExists(b.host, "img/oci", blob.digest)).toBe(true);
    // The old image is still there by digest, and still complete.
    expect(await manifestDigest(b.host, "img/oci", before.image.digest)).toBe(before.image.digest);
    images["img/oci:v1"] = { ...before, image: moved };
  });

  it("mounts every blob across repositories of one registry instead of uploading", async () => {
    const session = new CopySession(transportFor, SESSION);
    for (const key of ["img/docker:v1", "img/oci-index:v1"]) {
      const { repo, tag, image, children } = images[key] as SourceImage;
      clearRecordings();
      const report = await session.copyImage(dst(repo, tag), dst(`mounted/${repo}`, tag));
      expect(report.error).toBeUndefined();
      expect(report).toMatchObject({
        status: "copied",
        digest: image.digest,
        blobsMounted: image.blobs.length,
        blobsCopied: 0,
        bytesMoved: 0,
        manifestsPushed: 1 + children.length,
      });
      const mounts = recorded(pb, "POST", new RegExp(`^/v2/mounted/${literal(repo)}/blobs/uploads/\\?`));
      expect(mounts).toHaveLength(image.blobs.length);
      for (const mount of mounts) {
        expect(mount.path).toMatch(/\?mount=sha256%3A[a-f0-9]{64}&from=/);
        expect(mount.path).toContain(`&from=${encodeURIComponent(repo)}`);
        expect(mount.status).toBe(201);
      }
      expect(new Set(mounts.map((m) => decodeURIComponent(/mount=([^&]+)/.exec(m.path)?.[1] ?? "")))).toEqual(
        new Set(image.blobs.map((blob) => blob.digest)),
      );
      expect(
        pb.requests.filter((r) => r.method === "PUT" || r.method === "PATCH").map((r) => r.path),
      ).toEqual(
        pb.requests.filter((r) => r.method === "PUT" && r.path.includes("/manifests/")).map((r) => r.path),
      );
      expect(pb.requests.filter((r) => r.path.includes("/blobs/uploads/") && r.method !== "POST")).toEqual(
        [],
      );
      expect(await manifestDigest(b.host, `mounted/${repo}`, tag)).toBe(image.digest);
      for (const child of children) {
        expect(await manifestDigest(b.host, `mounted/${repo}`, child.digest)).toBe(child.digest);
      }
      for (const blob of image.blobs)
        expect(await blobExists(b.host, `mounted/${repo}`, blob.digest)).toBe(true);
    }
    expect(pa.requests).toEqual([]);
  });

  it("uploads into the session a mount answered 202 opened, when the mount source lost the blob", async () => {
    const session = new CopySession(transportFor, SESSION);
    const { image } = images["img/oci:v1"] as SourceImage;
    clearRecordings();
    const first = await session.copyImage(src("img/oci", "v1"), dst("fallback/one", "v1"));
    expect(first).toMatchObject({ status: "copied", blobsCopied: image.blobs.length });

    // The repository the session would mount from loses one layer (as after a deletion and GC).
    const lost = image.blobs[1] as { digest: string; size: number };
    const linkDir = path.join(
      b.root,
      "docker/registry/v2/repositories/fallback/one/_layers/sha256",
      lost.digest.slice(7),
    );
    const link = await readFile(path.join(linkDir, "link"));
    await rm(linkDir, { recursive: true });
    try {
      clearRecordings();
      const second = await session.copyImage(src("img/oci", "v1"), dst("fallback/two", "v1"));
      expect(second.error).toBeUndefined();
      expect(second).toMatchObject({
        status: "copied",
        digest: image.digest,
        blobsMounted: image.blobs.length - 1,
        blobsCopied: 1,
        bytesMoved: lost.size,
      });
      const posts = recorded(pb, "POST", /^\/v2\/fallback\/two\/blobs\/uploads\//);
      // One POST per blob, all of them mounts: the refused one's 202 session took the upload.
      expect(posts).toHaveLength(image.blobs.length);
      expect(posts.every((r) => r.path.includes("?mount=") && r.path.includes("&from=fallback%2Fone"))).toBe(
        true,
      );
      expect(posts.filter((r) => r.status === 202).map((r) => r.path)).toEqual([
        `/v2/fallback/two/blobs/uploads/?mount=${encodeURIComponent(lost.digest)}&from=fallback%2Fone`,
      ]);
      const puts = recorded(pb, "PUT", /^\/v2\/fallback\/two\/blobs\/uploads\//);
      expect(puts.map((r) => r.status)).toEqual([201]);
      expect(puts[0]?.path).toContain(lost.digest.slice(7));
      for (const blob of image.blobs)
        expect(await blobExists(b.host, "fallback/two", blob.digest)).toBe(true);
      expect(await manifestDigest(b.host, "fallback/two", "v1")).toBe(image.digest);
    } finally {
      await mkdir(linkDir, { recursive: true });
      await writeFile(path.join(linkDir, "link"), link);
    }
  });

  it("copies only linux/arm64 of an index when asked", async () => {
    const { image, children } = images["img/oci-index:v1"] as SourceImage;
    const arm64 = children.find((c) => c.platform?.architecture === "arm64") as PushedImage;
    const others = children.filter((c) => c !== arm64);
    const session = new CopySession(transportFor, {
      ...SESSION,
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    const report = await session.copyImage(src("img/oci-index", "v1"), dst("filtered/index", "v1"));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({
      status: "copied",
      blobsCopied: arm64.blobs.length,
      manifestsPushed: 2,
    });
    expect(report.digest).not.toBe(image.digest);

    const pushed = await getManifest(b.host, "filtered/index", "v1");
    expect(pushed.digest).toBe(report.digest);
    expect(pushed.mediaType).toBe(MediaTypes.ociIndex);
    const index = JSON.parse(pushed.bytes.toString()) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(index.mediaType).toBe(MediaTypes.ociIndex);
    expect(index.manifests.map((m) => [m.platform.architecture, m.digest])).toEqual([
      ["arm64", arm64.digest],
    ]);
    expect(await manifestDigest(b.host, "filtered/index", arm64.digest)).toBe(arm64.digest);
    expect((await getManifest(b.host, "filtered/index", arm64.digest)).bytes).toEqual(arm64.manifest);
    for (const blob of arm64.blobs)
      expect(await blobExists(b.host, "filtered/index", blob.digest)).toBe(true);
    for (const other of others) {
      expect(await manifestDigest(b.host, "filtered/index", other.digest)).toBeUndefined();
      for (const blob of other.blobs)
        expect(await blobExists(b.host, "filtered/index", blob.digest)).toBe(false);
    }

    // Filtering again gives the same index: up to date.
    const again = await session.copyImage(src("img/oci-index", "v1"), dst("filtered/index", "v1"));
    expect(again).toMatchObject({ status: "up-to-date", digest: report.digest, bytesMoved: 0 });
    expect((await incompleteManifests(b)).problems).toEqual([]);
  });
});
