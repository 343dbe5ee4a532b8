/**
 * The registry fixtures work end to end against real local registries: images pushed with plain HTTP
 * read back with the same digests, skopeo copies them byte for byte, the proxy records and injects
 * faults, and the token server drives a real Bearer challenge.
 */
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobExists,
  EMPTY_LAYER,
  EMPTY_LAYER_DIGEST,
  getBlob,
  getManifest,
  listTags,
  MediaTypes,
  manifestDigest,
  pushBlob,
  pushImage,
  pushMultiPlatform,
  randomLayer,
  randomLayerStream,
  sha256,
} from "../../packages/sim/src/registry/images.ts";
import { startProxy } from "../../packages/sim/src/registry/proxy.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import { startTokenServer, type TokenServer } from "../../packages/sim/src/registry/token.ts";
import { skopeoCopy, skopeoSync } from "../fixtures/registry/skopeo.ts";

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
  { os: "linux", architecture: "arm", variant: "v7" },
];

describe("layer generation", () => {
  it("EMPTY_LAYER is the well-known 32-byte empty gzipped tar", () => {
    expect(EMPTY_LAYER.bytes.length).toBe(32);
    expect(sha256(EMPTY_LAYER.bytes)).toBe(EMPTY_LAYER_DIGEST);
    expect(EMPTY_LAYER_DIGEST).toBe(
      "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
    );
    const tar = zlib.gunzipSync(EMPTY_LAYER.bytes);
    expect(tar).toEqual(Buffer.alloc(1024));
    expect(sha256(tar)).toBe(EMPTY_LAYER.diffId);
  });

  it("randomLayer makes a deterministic ustar archive, and randomLayerStream the same bytes", async () => {
    const a = randomLayer(1000, { seed: 7 });
    const b = randomLayer(1000, { seed: 7 });
    const c = randomLayer(1000, { seed: 8 });
    expect(a.mediaType).toBe(MediaTypes.ociLayerGzip);
    expect(a.bytes).toEqual(b.bytes);
    expect(a.bytes).not.toEqual(c.bytes);

    const tar = zlib.gunzipSync(a.bytes);
    expect(tar.length).toBe(512 + 1024 + 1024); // header, 1000 bytes padded to 1024, end blocks
    expect(tar.toString("ascii", 257, 262)).toBe("ustar");
    expect(Number.parseInt(tar.toString("ascii", 124, 135), 8)).toBe(1000);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (tar[i] ?? 0);
    expect(Number.parseInt(tar.toString("ascii", 148, 154), 8)).toBe(sum);
    expect(sha256(tar)).toBe(a.diffId);
    expect(tar.subarray(512 + 1000)).toEqual(Buffer.alloc(1024 + 1024 - 1000));

    const plain = randomLayer(20 * 1024 * 1024, { seed: 9 });
    expect(plain.mediaType).toBe(MediaTypes.ociLayer);
    const streamed = await randomLayerStream(20 * 1024 * 1024, { seed: 9 });
    expect(streamed.size).toBe(plain.bytes.length);
    expect(streamed.digest).toBe(sha256(plain.bytes));
    const hash = createHash("sha256");
    for await (const chunk of streamed.open()) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest("hex")}`).toBe(streamed.digest);
  });
});

describe("registry fixtures against real registries", () => {
  let src: RegistryServer;
  let dst: RegistryServer;

  beforeAll(async () => {
    [src, dst] = await Promise.all([startRegistry({ deleteEnabled: true }), startRegistry()]);
  });

  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
  });

  it("pushes a gzip OCI image that reads back with the same digest", async () => {
    const image = await pushImage(src.host, "team/app", "v1", {
      layers: [randomLayer(64 * 1024, { seed: 1 }), EMPTY_LAYER],
    });
    expect(image.mediaType).toBe(MediaTypes.ociManifest);
    expect(image.digest).toBe(sha256(image.manifest));
    expect(await manifestDigest(src.host, "team/app", "v1")).toBe(image.digest);
    expect(await manifestDigest(src.host, "team/app", "missing")).toBeUndefined();

    const got = await getManifest(src.host, "team/app", image.digest);
    expect(got.mediaType).toBe(MediaTypes.ociManifest);
    expect(got.bytes).toEqual(image.manifest);
    expect(image.blobs).toHaveLength(3); // config + 2 layers
    for (const blob of image.blobs) expect(await blobExists(src.host, "team/app", blob.digest)).toBe(true);
    expect(await blobExists(src.host, "team/app", sha256("nope"))).toBe(false);
    expect(await getBlob(src.host, "team/app", EMPTY_LAYER_DIGEST)).toEqual(EMPTY_LAYER.bytes);
    expect(await listTags(src.host, "team/app")).toEqual(["v1"]);
    expect(await listTags(src.host, "team/none")).toEqual([]);
  });

  it("pushes a docker schema 2 image", async () => {
    const image = await pushImage(src.host, "team/docker", "latest", {
      layers: [randomLayer(32 * 1024, { seed: 2 })],
      format: "docker",
      platform: { os: "linux", architecture: "arm64" },
    });
    const got = await getManifest(src.host, "team/docker", "latest");
    expect(got.mediaType).toBe(MediaTypes.dockerManifest);
    expect(got.digest).toBe(image.digest);
    const manifest = JSON.parse(got.bytes.toString()) as {
      config: { mediaType: string; digest: string };
      layers: { mediaType: string }[];
    };
    expect(manifest.config.mediaType).toBe(MediaTypes.dockerConfig);
    expect(manifest.layers[0]?.mediaType).toBe(MediaTypes.dockerLayer);
    const config = JSON.parse(
      (await getBlob(src.host, "team/docker", manifest.config.digest)).toString(),
    ) as {
      architecture: string;
    };
    expect(config.architecture).toBe("arm64");
  });

  it("pushes a 3-platform index that skopeo copies (--all) with the same digest, and syncs", async () => {
    const { index, children } = await pushMultiPlatform(src.host, "team/multi", "v1", PLATFORMS, {
      layerSize: 16 * 1024,
      seed: 100,
    });
    expect(index.mediaType).toBe(MediaTypes.ociIndex);
    expect(children.map((c) => c.platform)).toEqual(PLATFORMS);
    expect(await manifestDigest(src.host, "team/multi", "v1")).toBe(index.digest);
    for (const child of children)
      expect(await manifestDigest(src.host, "team/multi", child.digest)).toBe(child.digest);
    expect(index.blobs).toHaveLength(6);

    await skopeoCopy(`${src.host}/team/multi:v1`, `${dst.host}/copied/multi:v1`, { all: true });
    expect(await manifestDigest(dst.host, "copied/multi", "v1")).toBe(index.digest);
    for (const child of children) {
      expect(await manifestDigest(dst.host, "copied/multi", child.digest)).toBe(child.digest);
    }
    for (const blob of index.blobs)
      expect(await blobExists(dst.host, "copied/multi", blob.digest)).toBe(true);

    await skopeoSync(`${src.host}/team/multi`, `${dst.host}/synced`);
    expect(await listTags(dst.host, "synced/multi")).toEqual(["v1"]);
    expect(await manifestDigest(dst.host, "synced/multi", "v1")).toBe(index.digest);
  });

  it("proxy: injects status faults, then forwards, and records every request", async () => {
    const image = await pushImage(src.host, "team/proxied", "v1", {
      layers: [randomLayer(4096, { seed: 3 })],
    });
    const proxy = await startProxy(src.url, [
      { kind: "status", status: 500, match: { method: "GET", path: /\/manifests\/v1$/ }, times: 2 },
    ]);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${proxy.url}/v2/team/proxied/manifests/v1`);
        expect(res.status).toBe(500);
        expect(await res.json()).toMatchObject({ errors: [{ code: "UNKNOWN" }] });
      }
      expect((await getManifest(proxy.host, "team/proxied", "v1")).digest).toBe(image.digest);
      expect(proxy.faults[0]?.times).toBe(0);
      expect(proxy.requests.map((r) => [r.method, r.path, r.status])).toEqual([
        ["GET", "/v2/team/proxied/manifests/v1", 500],
        ["GET", "/v2/team/proxied/manifests/v1", 500],
        ["GET", "/v2/team/proxied/manifests/v1", 200],
      ]);

      // Uploads through the proxy: the registry's Location points back at the proxy (Host kept).
      proxy.requests.length = 0;
      const pushed = await pushImage(proxy.host, "team/via-proxy", "v1", {
        layers: [randomLayer(4096, { seed: 4 })],
      });
      expect(await manifestDigest(src.host, "team/via-proxy", "v1")).toBe(pushed.digest);
      expect(
        proxy.requests.filter((r) => r.method === "PUT" && r.path.includes("/blobs/uploads/")),
      ).toHaveLength(2);
      expect(proxy.requests.every((r) => !r.authorization)).toBe(true);

      // Mid-body reset and clean truncation of a blob download; reset of an upload body.
      const blob = image.blobs[1];
      if (!blob) throw new Error("image has no layer");
      const blobPath = new RegExp(`/blobs/${blob.digest}$`);
      proxy.faults.push({
        kind: "reset",
        match: { method: "GET", path: blobPath },
        times: 1,
        afterBytes: 100,
      });
      await expect(getBlob(proxy.host, "team/proxied", blob.digest)).rejects.toThrow();
      proxy.faults.push({
        kind: "truncate",
        match: { method: "GET", path: blobPath },
        times: 1,
        afterBytes: 100,
      });
      const short = await fetch(`${proxy.url}/v2/team/proxied/blobs/${blob.digest}`);
      expect(short.headers.get("content-length")).toBe("100");
      expect((await short.arrayBuffer()).byteLength).toBe(100);
      expect(await getBlob(proxy.host, "team/proxied", blob.digest)).toHaveLength(blob.size);

      const layer = randomLayer(256 * 1024, { seed: 5, gzip: false });
      proxy.faults.push({ kind: "resetRequest", match: { method: "PUT" }, times: 1, afterBytes: 1000 });
      const descriptor = { digest: sha256(layer.bytes), size: layer.bytes.length, bytes: layer.bytes };
      await expect(pushBlob(proxy.host, "team/reset", descriptor)).rejects.toThrow();
      expect(proxy.requests.at(-1)).toMatchObject({ method: "PUT", status: 0, fault: "resetRequest" });
      expect(await blobExists(src.host, "team/reset", descriptor.digest)).toBe(false);
      await pushBlob(proxy.host, "team/reset", descriptor);
      expect(await blobExists(src.host, "team/reset", descriptor.digest)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe("token server with a token-auth registry", () => {
  let tokens: TokenServer;
  let registry: RegistryServer;

  beforeAll(async () => {
    tokens = await startTokenServer({ users: { alice: "s3cret" } });
    registry = await startRegistry({
      token: {
        realm: tokens.realm,
        service: tokens.service,
        issuer: tokens.issuer,
        rootCertBundle: tokens.rootCertBundle,
      },
    });
  });

  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  async function fetchToken(scopes: string[], basic?: string): Promise<Response> {
    const query = new URLSearchParams({ service: tokens.service });
    for (const scope of scopes) query.append("scope", scope);
    return await fetch(`${tokens.realm}?${query}`, {
      headers: basic ? { authorization: `Basic ${Buffer.from(basic).toString("base64")}` } : {},
    });
  }

  it("challenges, then accepts tokens for push and pull", async () => {
    const challenge = await fetch(`${registry.url}/v2/`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toBe(
      `Bearer realm="${tokens.realm}",service="${tokens.service}"`,
    );

    expect((await fetchToken(["repository:secure/app:pull,push"], "alice:wrong")).status).toBe(401);

    const res = await fetchToken(["repository:secure/app:pull,push", "registry:catalog:*"], "alice:s3cret");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    const authorization = `Bearer ${body.token}`;

    expect((await fetch(`${registry.url}/v2/`, { headers: { authorization } })).status).toBe(200);
    const image = await pushImage(registry.host, "secure/app", "v1", {
      layers: [randomLayer(8 * 1024, { seed: 6 })],
      authorization,
    });
    expect(await manifestDigest(registry.host, "secure/app", "v1", { authorization })).toBe(image.digest);
    expect((await getManifest(registry.host, "secure/app", "v1", { authorization })).bytes).toEqual(
      image.manifest,
    );
    const catalog = await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization } });
    expect(await catalog.json()).toEqual({ repositories: ["secure/app"] });

    // Without a token, and with an anonymous one (no anonymousPull): still refused.
    const anon = await fetchToken(["repository:secure/app:pull"]);
    const anonToken = ((await anon.json()) as { token: string }).token;
    expect(
      (
        await fetch(`${registry.url}/v2/secure/app/manifests/v1`, {
          headers: { authorization: `Bearer ${anonToken}` },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${registry.url}/v2/secure/app/manifests/v1`)).status).toBe(401);

    expect(tokens.issued.map((t) => [t.account, t.access])).toEqual([
      [
        "alice",
        [
          { type: "repository", name: "secure/app", actions: ["pull", "push"] },
          { type: "registry", name: "catalog", actions: ["*"] },
        ],
      ],
      [undefined, []],
    ]);
  });

  it("skopeo copies into the token registry with credentials", async () => {
    const plain = await startRegistry();
    try {
      const image = await pushImage(plain.host, "plain/app", "v1", {
        layers: [randomLayer(4096, { seed: 10 })],
      });
      await skopeoCopy(`${plain.host}/plain/app:v1`, `${registry.host}/secure/copied:v1`, {
        destCreds: "alice:s3cret",
      });
      const token = (
        (await (await fetchToken(["repository:secure/copied:pull"], "alice:s3cret")).json()) as {
          token: string;
        }
      ).token;
      expect(
        await manifestDigest(registry.host, "secure/copied", "v1", { authorization: `Bearer ${token}` }),
      ).toBe(image.digest);
    } finally {
      await plain.stop();
    }
  });
});
