/**
 * The copy engine through fault-injecting proxies in front of a real source and destination registry:
 * temporary faults (5xx, 429 with Retry-After, resets, truncated bodies, resets mid-upload) are retried
 * to an identical copy or end in a named error; permanent ones (403, 404) fail at once with the
 * registry's code; and the destination never holds a manifest whose blobs are missing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CopyOptions, CopySession, type TransportFor } from "../../packages/core/src/registry/copy.ts";
import { parseReference } from "../../packages/core/src/registry/reference.ts";
import {
  blobExists,
  getManifest,
  manifestDigest,
  type PushedImage,
  pushImage,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type FaultProxy, startProxy } from "../../packages/sim/src/registry/proxy.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import {
  engineTransports,
  incompleteManifests,
  literal,
  noSleep,
  openUploads,
  recorded,
} from "../fixtures/registry/engine.ts";

const MiB = 1024 * 1024;
/** Blobs over 1 MiB go up in 5 MiB PATCHes, so a 6 MiB layer takes two. */
const SESSION: CopyOptions = {
  concurrency: 4,
  uploadSizes: { monolithicMax: 1 * MiB, chunkSize: 5 * MiB },
  sleep: noSleep,
};

describe("copy engine under injected faults", () => {
  let s: RegistryServer;
  let d: RegistryServer;
  let ps: FaultProxy;
  let pd: FaultProxy;
  let transportFor: TransportFor;
  let seed = 1000;

  beforeAll(async () => {
    [s, d] = await Promise.all([startRegistry(), startRegistry()]);
    [ps, pd] = await Promise.all([startProxy(s.url), startProxy(d.url)]);
    transportFor = engineTransports({ insecure: [ps.host, pd.host] });
  });

  /**
   * Errors the engine let escape (an `error` event nobody listens to, a promise nobody awaits): in a
   * Lambda they kill the runtime mid-run. Captured here instead of by vitest, so the test that caused
   * one fails by name.
   */
  let escaped: unknown[] = [];
  let saved: { uncaught: NodeJS.UncaughtExceptionListener[]; unhandled: NodeJS.UnhandledRejectionListener[] };
  const capture = (error: unknown) => {
    escaped.push(error);
  };

  beforeEach(() => {
    escaped = [];
    saved = {
      uncaught: process.listeners("uncaughtException"),
      unhandled: process.listeners("unhandledRejection"),
    };
    process.removeAllListeners("uncaughtException");
    process.removeAllListeners("unhandledRejection");
    process.on("uncaughtException", capture);
    process.on("unhandledRejection", capture);
  });

  afterEach(async () => {
    try {
      ps.faults.length = 0;
      pd.faults.length = 0;
      // Whatever happened, every manifest in the destination is complete.
      const { problems } = await incompleteManifests(d);
      expect(problems).toEqual([]);
      // Let stream errors and rejections that trail the copy surface.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.removeListener("uncaughtException", capture);
      process.removeListener("unhandledRejection", capture);
      for (const listener of saved.uncaught) process.on("uncaughtException", listener);
      for (const listener of saved.unhandled) process.on("unhandledRejection", listener);
    }
    expect(
      escaped.map(
        (e) => `${(e as Error).name} ${(e as { code?: string }).code ?? ""}: ${(e as Error).message}`,
      ),
    ).toEqual([]);
  });

  afterAll(async () => {
    await Promise.all([ps?.stop(), pd?.stop()]);
    await Promise.all([s?.stop(), d?.stop()]);
  });

  /** A fresh image in its own repository `f/<name>`, with one layer of `layerSize` bytes (uncompressed). */
  async function image(name: string, layerSize = 256 * 1024): Promise<PushedImage> {
    seed++;
    return await pushImage(s.host, `f/${name}`, "v1", {
      layers: [randomLayer(4096, { seed }), randomLayer(layerSize, { seed: seed + 500, gzip: false })],
    });
  }

  const copy = (name: string, options: CopyOptions = SESSION) =>
    new CopySession(transportFor, options).copyImage(
      parseReference(`${ps.host}/f/${name}:v1`),
      parseReference(`${pd.host}/f/${name}:v1`),
    );

  async function expectIdenticalCopy(name: string, pushed: PushedImage): Promise<void> {
    expect(await manifestDigest(d.host, `f/${name}`, "v1")).toBe(pushed.digest);
    expect((await getManifest(d.host, `f/${name}`, "v1")).bytes).toEqual(pushed.manifest);
    for (const blob of pushed.blobs) expect(await blobExists(d.host, `f/${name}`, blob.digest)).toBe(true);
    // Every upload session was completed or cancelled, except one whose body was cut: distribution
    // refuses to cancel it (its `_state` offset no longer matches: 404 BLOB_UPLOAD_INVALID) and purges
    // it later.
    const cut = new Set(
      pd.requests
        .filter((r) => (r.method === "PUT" || r.method === "PATCH") && ![201, 202].includes(r.status))
        .map((r) => /\/blobs\/uploads\/([^?/]+)/.exec(r.path)?.[1]),
    );
    expect((await openUploads(d.root, `f/${name}`)).filter((id) => !cut.has(id))).toEqual([]);
  }

  const layerOf = (pushed: PushedImage) => pushed.blobs[2] as { digest: string; size: number };
  const blobPath = (name: string, digest: string) => new RegExp(`^/v2/f/${literal(name)}/blobs/${digest}$`);
  const uploadOf = (name: string, digest: string) =>
    new RegExp(`^/v2/f/${literal(name)}/blobs/uploads/[^?]*\\?.*digest=${digest.replace(":", "(:|%3A)")}`);

  it("uploads a blob when the registry refuses to mount it (403 on POST ?mount=)", async () => {
    // Prepare: the image in the destination registry, then a copy to another repository of it.
    const pushed = await image("mount-denied");
    expect((await copy("mount-denied")).status).toBe("copied");
    pd.faults.push({
      kind: "status",
      status: 403,
      match: { method: "POST", path: /[?&]mount=/ },
      times: 1000,
    });

    // Act
    const report = await new CopySession(transportFor, SESSION).copyImage(
      parseReference(`${pd.host}/f/mount-denied:v1`),
      parseReference(`${pd.host}/g/mount-denied:v1`),
    );

    // Assess: copied by upload, every digest the same.
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest, blobsMounted: 0 });
    expect(report.blobsCopied).toBe(pushed.blobs.length);
    expect(await manifestDigest(d.host, "g/mount-denied", "v1")).toBe(pushed.digest);
    for (const blob of pushed.blobs)
      expect(await blobExists(d.host, "g/mount-denied", blob.digest)).toBe(true);
  });

  it("retries a manifest GET answered 500 twice", async () => {
    const pushed = await image("manifest-500");
    const path = /^\/v2\/f\/manifest-500\/manifests\//;
    ps.faults.push({ kind: "status", status: 500, match: { method: "GET", path }, times: 2 });
    const report = await copy("manifest-500");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest });
    expect(recorded(ps, "GET", path).map((r) => [r.path, r.status])).toEqual([
      [`/v2/f/manifest-500/manifests/${pushed.digest}`, 500],
      [`/v2/f/manifest-500/manifests/${pushed.digest}`, 500],
      [`/v2/f/manifest-500/manifests/${pushed.digest}`, 200],
    ]);
    await expectIdenticalCopy("manifest-500", pushed);
  });

  it("gives up on a manifest GET that keeps failing with 503, after the retry budget, with a named error", async () => {
    await image("manifest-503");
    const path = /^\/v2\/f\/manifest-503\/manifests\/sha256:/;
    ps.faults.push({ kind: "status", status: 503, match: { method: "GET", path }, times: 1000 });
    const report = await copy("manifest-503");
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ name: "RegistryError", code: "UNAVAILABLE" });
    expect(recorded(ps, "GET", path)).toHaveLength(5); // FAST_RETRY.maxAttempts
    expect(await manifestDigest(d.host, "f/manifest-503", "v1")).toBeUndefined();
  });

  it("waits out a 429 with Retry-After: 1 on a blob HEAD, then copies", async () => {
    const pushed = await image("throttled");
    const config = pushed.blobs[0] as { digest: string };
    const path = blobPath("throttled", config.digest);
    pd.faults.push({
      kind: "status",
      status: 429,
      retryAfter: "1",
      match: { method: "HEAD", path },
      times: 1,
    });
    const report = await copy("throttled");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest });
    expect(report.durationMs).toBeGreaterThanOrEqual(1000);
    expect(recorded(pd, "HEAD", path).map((r) => r.status)).toEqual([429, 404]);
    await expectIdenticalCopy("throttled", pushed);
  });

  it("does not wait for a Retry-After longer than the policy allows: fails at once", async () => {
    const pushed = await image("throttled-long");
    const path = blobPath("throttled-long", (pushed.blobs[0] as { digest: string }).digest);
    pd.faults.push({
      kind: "status",
      status: 429,
      retryAfter: "3600",
      match: { method: "HEAD", path },
      times: 1000,
    });
    const report = await copy("throttled-long");
    expect(report.status).toBe("failed");
    // A HEAD answer has no body, so no OCI error code: the status stands in for it.
    expect(report.error).toMatchObject({ name: "RegistryError", code: "TOOMANYREQUESTS" });
    expect(report.durationMs).toBeLessThan(5000);
    expect(recorded(pd, "HEAD", path)).toHaveLength(1);
    expect(await manifestDigest(d.host, "f/throttled-long", "v1")).toBeUndefined();
  });

  it("retries a blob whose download is reset half-way", async () => {
    const pushed = await image("get-reset");
    const layer = layerOf(pushed);
    const path = blobPath("get-reset", layer.digest);
    ps.faults.push({
      kind: "reset",
      match: { method: "GET", path },
      times: 1,
      afterBytes: Math.floor(layer.size / 2),
    });
    const report = await copy("get-reset");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest, blobsCopied: 3 });
    expect(recorded(ps, "GET", path).map((r) => [r.status, r.fault])).toEqual([
      [200, "reset"],
      [200, undefined],
    ]);
    // The half-sent upload never became a blob: the only completed PUT of the layer is the retry's.
    expect(
      recorded(pd, "PUT", uploadOf("get-reset", layer.digest)).filter((r) => r.status === 201),
    ).toHaveLength(1);
    await expectIdenticalCopy("get-reset", pushed);
  });

  it("names the source, not the destination, when every download of a blob is cut at the source", async () => {
    const pushed = await image("get-reset-always");
    const layer = layerOf(pushed);
    const path = blobPath("get-reset-always", layer.digest);
    ps.faults.push({
      kind: "reset",
      match: { method: "GET", path },
      times: 1000,
      afterBytes: Math.floor(layer.size / 2),
    });

    const report = await copy("get-reset-always");

    expect(report.status).toBe("failed");
    // A read of the source that failed: temporary (it was retried), and said to be the source's.
    expect(report.error).toMatchObject({ name: "RegistryError", code: "ECONNRESET", retryable: true });
    const message = report.error?.message ?? "";
    expect(message).toContain(`Download blob ${layer.digest} from f/get-reset-always at ${ps.host}`);
    expect(message).not.toContain("Upload blob");
    expect(message).not.toContain(pd.host);
    expect(recorded(ps, "GET", path).length).toBeGreaterThan(1);
    expect(await manifestDigest(d.host, "f/get-reset-always", "v1")).toBeUndefined();
  });

  it("retries a blob whose body is truncated (short Content-Length)", async () => {
    const pushed = await image("truncated");
    const layer = layerOf(pushed);
    const path = blobPath("truncated", layer.digest);
    ps.faults.push({
      kind: "truncate",
      match: { method: "GET", path },
      times: 1,
      afterBytes: Math.floor(layer.size / 2),
    });
    const report = await copy("truncated");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest });
    expect(recorded(ps, "GET", path).map((r) => r.fault)).toEqual(["truncate", undefined]);
    await expectIdenticalCopy("truncated", pushed);
  });

  it("fails with BlobVerificationFailed when every download is truncated, pushing no manifest", async () => {
    const pushed = await image("always-truncated");
    const layer = layerOf(pushed);
    const path = blobPath("always-truncated", layer.digest);
    ps.faults.push({ kind: "truncate", match: { method: "GET", path }, times: 1000, afterBytes: 1000 });
    const report = await copy("always-truncated");
    expect(report.status).toBe("failed");
    expect(report.error?.name).toBe("BlobVerificationFailed");
    expect(recorded(ps, "GET", path)).toHaveLength(3); // blobAttempts default
    expect(await manifestDigest(d.host, "f/always-truncated", "v1")).toBeUndefined();
    expect(await blobExists(d.host, "f/always-truncated", layer.digest)).toBe(false);
    expect(await openUploads(d.root, "f/always-truncated")).toEqual([]);
  });

  it("retries a monolithic upload reset half-way", async () => {
    const pushed = await image("put-reset");
    const layer = layerOf(pushed);
    const path = uploadOf("put-reset", layer.digest);
    pd.faults.push({
      kind: "resetRequest",
      match: { method: "PUT", path },
      times: 1,
      afterBytes: Math.floor(layer.size / 2),
    });
    const report = await copy("put-reset");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest });
    expect(recorded(pd, "PUT", path).map((r) => [r.status, r.fault])).toEqual([
      [0, "resetRequest"],
      [201, undefined],
    ]);
    // The abandoned session was cancelled.
    expect(recorded(pd, "DELETE", /^\/v2\/f\/put-reset\/blobs\/uploads\//)).toHaveLength(1);
    await expectIdenticalCopy("put-reset", pushed);
  });

  it("names the destination, not the source, when every upload of a blob is cut at the destination", async () => {
    const pushed = await image("put-reset-always");
    const layer = layerOf(pushed);
    pd.faults.push({
      kind: "resetRequest",
      match: { method: "PUT", path: uploadOf("put-reset-always", layer.digest) },
      times: 1000,
      afterBytes: Math.floor(layer.size / 2),
    });

    const report = await copy("put-reset-always");

    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ name: "RegistryError", retryable: true });
    const message = report.error?.message ?? "";
    expect(message).toContain(`Upload blob ${layer.digest} to f/put-reset-always at ${pd.host}`);
    expect(message).not.toContain("Download blob");
    expect(await manifestDigest(d.host, "f/put-reset-always", "v1")).toBeUndefined();
  });

  it("retries a chunked upload whose PATCH is reset half-way", async () => {
    const pushed = await image("patch-reset", 6 * MiB);
    const layer = layerOf(pushed);
    expect(layer.size).toBeGreaterThan(5 * MiB);
    const path = /^\/v2\/f\/patch-reset\/blobs\/uploads\//;
    pd.faults.push({ kind: "resetRequest", match: { method: "PATCH", path }, times: 1, afterBytes: 2 * MiB });
    const report = await copy("patch-reset");
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest });
    expect(recorded(pd, "PATCH", path).map((r) => [r.status, r.fault])).toEqual([
      [0, "resetRequest"],
      [202, undefined],
      [202, undefined],
    ]);
    expect(recorded(pd, "PUT", uploadOf("patch-reset", layer.digest)).map((r) => r.status)).toEqual([201]);
    await expectIdenticalCopy("patch-reset", pushed);
  });

  it("names the destination, not the source, when every chunked upload of a blob is cut at a PATCH", async () => {
    const pushed = await image("patch-reset-always", 6 * MiB);
    const layer = layerOf(pushed);
    expect(layer.size).toBeGreaterThan(5 * MiB);
    const path = /^\/v2\/f\/patch-reset-always\/blobs\/uploads\//;
    pd.faults.push({
      kind: "resetRequest",
      match: { method: "PATCH", path },
      times: 1000,
      afterBytes: 2 * MiB,
    });

    const report = await copy("patch-reset-always");

    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ name: "RegistryError", retryable: true });
    const message = report.error?.message ?? "";
    expect(message).toContain(`at ${pd.host}`);
    expect(message).not.toContain("Download blob");
    expect(message).not.toContain(ps.host);
    expect(await manifestDigest(d.host, "f/patch-reset-always", "v1")).toBeUndefined();
  });

  it("retries a manifest PUT answered 503 once (the body is a buffer, so it is replayed)", async () => {
    const pushed = await image("put-manifest-503");
    const path = /^\/v2\/f\/put-manifest-503\/manifests\/v1$/;
    pd.faults.push({ kind: "status", status: 503, match: { method: "PUT", path }, times: 1 });
    const report = await copy("put-manifest-503");
    expect(report).toMatchObject({ status: "copied", digest: pushed.digest, manifestsPushed: 1 });
    expect(recorded(pd, "PUT", path).map((r) => r.status)).toEqual([503, 201]);
    await expectIdenticalCopy("put-manifest-503", pushed);
  });

  it("reports CopyAborted, and pushes no manifest, when the signal aborts a transfer midway", async () => {
    const pushed = await image("aborted", 12 * MiB);
    const controller = new AbortController();
    const report = await copy("aborted", {
      ...SESSION,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === "bytes") controller.abort();
      },
    });
    expect(controller.signal.aborted).toBe(true);
    expect(report.status).toBe("failed");
    // The engine's own name for a stopped copy (retryable), not the platform's AbortError.
    expect(report.error?.name).toBe("CopyAborted");
    expect(await manifestDigest(d.host, "f/aborted", "v1")).toBeUndefined();
    expect(await blobExists(d.host, "f/aborted", layerOf(pushed).digest)).toBe(false);
  });

  describe("permanent errors are not retried and carry the registry's code", () => {
    it("403 DENIED on a blob GET", async () => {
      const pushed = await image("denied");
      const path = blobPath("denied", layerOf(pushed).digest);
      ps.faults.push({ kind: "status", status: 403, match: { method: "GET", path }, times: 1000 });
      const report = await copy("denied");
      expect(report.status).toBe("failed");
      expect(report.error).toMatchObject({ name: "RegistryError", code: "DENIED" });
      expect(recorded(ps, "GET", path)).toHaveLength(1);
      expect(await manifestDigest(d.host, "f/denied", "v1")).toBeUndefined();
    });

    it("404 BLOB_UNKNOWN on a blob GET", async () => {
      const pushed = await image("lost-blob");
      const path = blobPath("lost-blob", layerOf(pushed).digest);
      ps.faults.push({
        kind: "status",
        status: 404,
        code: "BLOB_UNKNOWN",
        match: { method: "GET", path },
        times: 1000,
      });
      const report = await copy("lost-blob");
      expect(report.status).toBe("failed");
      expect(report.error).toMatchObject({ name: "RegistryError", code: "BLOB_UNKNOWN" });
      expect(recorded(ps, "GET", path)).toHaveLength(1);
      expect(await manifestDigest(d.host, "f/lost-blob", "v1")).toBeUndefined();
    });

    it("403 DENIED on the manifest PUT leaves no manifest", async () => {
      const pushed = await image("put-denied");
      const path = /^\/v2\/f\/put-denied\/manifests\//;
      pd.faults.push({ kind: "status", status: 403, match: { method: "PUT", path }, times: 1000 });
      const report = await copy("put-denied");
      expect(report.status).toBe("failed");
      expect(report.error).toMatchObject({ name: "RegistryError", code: "DENIED" });
      expect(recorded(pd, "PUT", path)).toHaveLength(1);
      expect(await manifestDigest(d.host, "f/put-denied", "v1")).toBeUndefined();
      // The blobs went up before the refusal; they are harmless without a manifest.
      for (const blob of pushed.blobs)
        expect(await blobExists(d.host, "f/put-denied", blob.digest)).toBe(true);
    });

    it("404 on the source manifest HEAD: MANIFEST_UNKNOWN, one request", async () => {
      const path = /^\/v2\/f\/missing\/manifests\/v1$/;
      const report = await copy("missing");
      expect(report.status).toBe("failed");
      expect(report.error).toMatchObject({ name: "RegistryError", code: "MANIFEST_UNKNOWN" });
      expect(recorded(ps, "HEAD", path).map((r) => r.status)).toEqual([404]);
      // The destination was at most asked for its tag (the engine may HEAD both sides at once).
      expect(pd.requests.filter((r) => r.path.startsWith("/v2/f/missing/") && r.method !== "HEAD")).toEqual(
        [],
      );
      expect(recorded(pd, "HEAD", /^\/v2\/f\/missing\/manifests\/v1$/).length).toBeLessThanOrEqual(1);
    });
  });
});
