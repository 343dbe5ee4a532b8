/**
 * "Ensure image" of the restore against two real distribution registries: the source one behind a
 * recording proxy (so a test can see it was not asked at all), the target one spoken to directly. End
 * states are read back from the target registry with plain HTTP, independent of the engine under test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TransportFor } from "../../packages/core/src/registry/copy.ts";
import { transportPool } from "../../packages/core/src/registry/registries.ts";
import { ensureImage } from "../../packages/core/src/restore/images.ts";
import {
  blobExists,
  listTags,
  MediaTypes,
  manifestDigest,
  type PushedImage,
  pushImage,
  pushMultiPlatform,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type FaultProxy, startProxy } from "../../packages/sim/src/registry/proxy.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import { FAST_RETRY } from "../fixtures/registry/engine.ts";

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
];
const totalSize = (blobs: readonly { size: number }[]) => blobs.reduce((n, blob) => n + blob.size, 0);
const FIXED = new Date("2024-05-01T12:00:00.000Z");
const now = () => FIXED;

describe("ensureImage against real registries", () => {
  let source: RegistryServer;
  let target: RegistryServer;
  /** Recording proxy in front of the source registry: the only way the code under test reaches it. */
  let sourceProxy: FaultProxy;
  let transportFor: TransportFor;
  let inTarget: PushedImage;
  let index: PushedImage;
  let children: PushedImage[];

  beforeAll(async () => {
    [source, target] = await Promise.all([startRegistry(), startRegistry()]);
    sourceProxy = await startProxy(source.url);
    transportFor = transportPool({
      credentials: () => undefined,
      insecure: [sourceProxy.host, target.host],
      retry: FAST_RETRY,
    });
    // An image already restored into the target (and, with the same content, in the source).
    const layers = [randomLayer(32 * 1024, { seed: 101 }), randomLayer(8 * 1024, { seed: 102 })];
    inTarget = await pushImage(target.host, "app/server", "v1", { layers });
    await pushImage(source.host, "app/server", "v1", { layers });
    // A multi-platform index only the source has.
    ({ index, children } = await pushMultiPlatform(source.host, "app/web", "v2", PLATFORMS, {
      layerSize: 16 * 1024,
      seed: 200,
    }));
  }, 60_000);

  afterAll(async () => {
    await sourceProxy?.stop();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it("reports an image already in the target as present without asking the source", async () => {
    sourceProxy.requests.length = 0;
    const result = await ensureImage(
      { reference: `${target.host}/app/server:v1`, source: `${sourceProxy.host}/app/server:v1` },
      transportFor,
      { now },
    );
    expect(result).toEqual({
      reference: `${target.host}/app/server:v1`,
      status: "present",
      digest: inTarget.digest,
      bytesMoved: 0,
      startedAt: FIXED.toISOString(),
      finishedAt: FIXED.toISOString(),
    });
    expect(await manifestDigest(target.host, "app/server", "v1")).toBe(result.digest);
    expect(sourceProxy.requests).toEqual([]);
  });

  it("copies a missing multi-platform index from the source with its digests, then finds it present", async () => {
    expect(index.mediaType).toBe(MediaTypes.ociIndex);
    expect(await manifestDigest(target.host, "app/web", "v2")).toBeUndefined();
    const item = { reference: `${target.host}/app/web:v2`, source: `${sourceProxy.host}/app/web:v2` };

    const first = await ensureImage(item, transportFor, { now });
    expect(first).toMatchObject({ reference: item.reference, status: "copied", digest: index.digest });
    expect(first.bytesMoved).toBeGreaterThan(0);
    expect(first.bytesMoved).toBe(totalSize(index.blobs));
    // End state read from the target itself: the tag, every child and every blob, digests unchanged.
    expect(await manifestDigest(target.host, "app/web", "v2")).toBe(index.digest);
    expect(await manifestDigest(source.host, "app/web", "v2")).toBe(index.digest);
    for (const child of children) {
      expect(await manifestDigest(target.host, "app/web", child.digest)).toBe(child.digest);
    }
    for (const blob of index.blobs) expect(await blobExists(target.host, "app/web", blob.digest)).toBe(true);

    // Safe to run twice: the second run finds it in the target and moves nothing.
    sourceProxy.requests.length = 0;
    const second = await ensureImage(item, transportFor, { now });
    expect(second).toMatchObject({ status: "present", digest: index.digest, bytesMoved: 0 });
    expect(sourceProxy.requests).toEqual([]);
  });

  it("fails with ImageUnavailable when the image is missing and there is no source", async () => {
    const reference = `${target.host}/app/nosource:v1`;
    const error = await ensureImage({ reference }, transportFor).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "ImageUnavailable", retryable: false });
    expect((error as Error).message).toContain(reference);
    expect(await manifestDigest(target.host, "app/nosource", "v1")).toBeUndefined();
  });

  it("fails with ImageUnavailable naming both references when the source lacks it too, copying nothing", async () => {
    const item = { reference: `${target.host}/app/gone:v3`, source: `${sourceProxy.host}/app/gone:v3` };
    sourceProxy.requests.length = 0;
    const error = await ensureImage(item, transportFor).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ImageUnavailable", retryable: false });
    const message = (error as Error).message;
    expect(message).toContain(item.reference);
    expect(message).toContain(item.source);
    // The source was asked (and said 404); nothing was written to the target.
    expect(sourceProxy.requests.some((r) => r.path === "/v2/app/gone/manifests/v3" && r.status === 404)).toBe(
      true,
    );
    expect(await manifestDigest(target.host, "app/gone", "v3")).toBeUndefined();
    expect(await listTags(target.host, "app/gone")).toEqual([]);
  });
});
