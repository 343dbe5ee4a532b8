import { describe, expect, it } from "vitest";
import { UnsupportedManifestError } from "../../../packages/core/src/registry/errors.ts";
import {
  filterIndex,
  formatPlatform,
  MediaType,
  type Platform,
  parseManifest,
  parsePlatform,
  platformSelected,
  sha256Digest,
} from "../../../packages/core/src/registry/manifest.ts";

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

const CONFIG = { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest(1), size: 100 };
const LAYER_A = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest(2), size: 2000 };
const LAYER_B = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest(3), size: 3000 };

const AMD64 = {
  mediaType: MediaType.ociManifest,
  digest: digest(10),
  size: 500,
  platform: { os: "linux", architecture: "amd64" },
};
const ARM64 = {
  mediaType: MediaType.ociManifest,
  digest: digest(11),
  size: 500,
  platform: { os: "linux", architecture: "arm64", variant: "v8" },
};
const ARMV7 = {
  mediaType: MediaType.ociManifest,
  digest: digest(12),
  size: 500,
  platform: { os: "linux", architecture: "arm", variant: "v7" },
};
const ATTESTATION = {
  mediaType: MediaType.ociManifest,
  digest: digest(13),
  size: 300,
  platform: { os: "unknown", architecture: "unknown" },
  annotations: { "vnd.docker.reference.type": "attestation-manifest" },
};

function unsupported(manifest: Uint8Array, contentType?: string): UnsupportedManifestError {
  try {
    parseManifest(manifest, contentType, "reg.test/a:t");
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedManifestError);
    return error as UnsupportedManifestError;
  }
  throw new Error("parseManifest accepted the manifest");
}

describe("parseManifest", () => {
  it("reads a Docker schema 2 manifest: config, then layers in order", () => {
    const manifest = bytes({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { ...CONFIG, mediaType: "application/vnd.docker.container.image.v1+json" },
      layers: [LAYER_B, LAYER_A],
    });

    const parsed = parseManifest(manifest, "application/json", "reg.test/a:t");

    expect(parsed).toEqual({
      kind: "image",
      mediaType: MediaType.dockerManifest,
      blobs: [{ ...CONFIG, mediaType: "application/vnd.docker.container.image.v1+json" }, LAYER_B, LAYER_A],
    });
  });

  it("reads a Docker manifest list", () => {
    const parsed = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MediaType.dockerList, manifests: [AMD64, ARM64] }),
      MediaType.dockerList,
      "reg.test/a:t",
    );

    expect(parsed).toEqual({ kind: "index", mediaType: MediaType.dockerList, manifests: [AMD64, ARM64] });
  });

  it("reads an OCI image manifest and an OCI index", () => {
    const image = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: CONFIG, layers: [LAYER_A] }),
      undefined,
      "reg.test/a:t",
    );
    const index = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [AMD64, ATTESTATION] }),
      undefined,
      "reg.test/a:t",
    );

    expect(image).toEqual({ kind: "image", mediaType: MediaType.ociManifest, blobs: [CONFIG, LAYER_A] });
    expect(index).toEqual({ kind: "index", mediaType: MediaType.ociIndex, manifests: [AMD64, ATTESTATION] });
  });

  it("takes the media type from Content-Type (parameters dropped) when the manifest has no mediaType", () => {
    const manifest = bytes({ schemaVersion: 2, config: CONFIG, layers: [LAYER_A] });

    const parsed = parseManifest(manifest, `${MediaType.ociManifest}; charset=utf-8`, "reg.test/a:t");

    expect(parsed).toMatchObject({ kind: "image", mediaType: MediaType.ociManifest });
  });

  it("recognises an OCI manifest or index without mediaType behind a generic Content-Type", () => {
    const image = parseManifest(
      bytes({ schemaVersion: 2, config: CONFIG, layers: [] }),
      "application/octet-stream",
      "x",
    );
    const index = parseManifest(bytes({ schemaVersion: 2, manifests: [AMD64] }), undefined, "x");

    expect(image).toEqual({ kind: "image", mediaType: MediaType.ociManifest, blobs: [CONFIG] });
    expect(index).toEqual({ kind: "index", mediaType: MediaType.ociIndex, manifests: [AMD64] });
  });

  it("skips foreign (non-distributable) layers, keeping the rest in order", () => {
    const foreign = {
      mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      digest: digest(20),
      size: 9_000_000,
      urls: ["https://mcr.microsoft.com/windows"],
    };
    const nondistributable = {
      mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      digest: digest(21),
      size: 1,
    };

    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: CONFIG,
        layers: [foreign, LAYER_A, nondistributable, LAYER_B],
      }),
      undefined,
      "x",
    );

    expect(parsed).toEqual({
      kind: "image",
      mediaType: MediaType.dockerManifest,
      blobs: [CONFIG, LAYER_A, LAYER_B],
    });
  });

  it.each([
    ["schemaVersion 1", { schemaVersion: 1, name: "a", tag: "t", fsLayers: [] }, undefined],
    ["the signed schema 1 Content-Type", { schemaVersion: 1, fsLayers: [] }, MediaType.dockerSchema1Signed],
    ["the schema 1 mediaType", { mediaType: MediaType.dockerSchema1, fsLayers: [] }, undefined],
  ])("refuses Docker schema 1 (%s) with advice to re-push", (_, manifest, contentType) => {
    const error = unsupported(bytes(manifest), contentType);

    expect(error.name).toBe("UnsupportedManifest");
    expect(error.message).toBe(
      "reg.test/a:t is a Docker schema 1 manifest, which gitpod-dr cannot copy with its digest intact; re-push the image with a current Docker or buildkit",
    );
  });

  it("refuses malformed JSON, naming the image", () => {
    const error = unsupported(Buffer.from('{"schemaVersion": 2, '));

    expect(error.message).toBe("The manifest of reg.test/a:t is not valid JSON");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    [
      "an unknown media type",
      { schemaVersion: 2, mediaType: "application/vnd.cncf.helm.chart" },
      /media type/,
    ],
    [
      "a layer with an invalid digest",
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: CONFIG,
        layers: [{ ...LAYER_A, digest: "md5:x" }],
      },
      /malformed config or layers/,
    ],
    [
      "a negative size",
      { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { ...CONFIG, size: -1 }, layers: [] },
      /malformed config or layers/,
    ],
    [
      "an index whose manifests is not a list",
      { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: {} },
      /malformed "manifests" list/,
    ],
    ["a JSON array", [], /is not a JSON object/],
    ["JSON null", null, /is not a JSON object/],
  ])("refuses %s", (_, manifest, message) => {
    expect(unsupported(bytes(manifest)).message).toMatch(message);
  });
});

describe("parsePlatform and formatPlatform", () => {
  it.each<[string, Platform]>([
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["windows/amd64", { os: "windows", architecture: "amd64" }],
  ])("%s", (text, platform) => {
    expect(parsePlatform(text)).toEqual(platform);
    expect(formatPlatform(parsePlatform(text))).toBe(text);
  });

  it.each(["linux", "linux/", "/amd64", "linux//v7", "linux/arm/v7/extra", ""])("rejects %j", (text) => {
    expect(() => parsePlatform(text)).toThrow(UnsupportedManifestError);
    expect(() => parsePlatform(text)).toThrow(`Invalid platform "${text}"`);
  });

  it("formats a missing platform as unknown", () => {
    expect(formatPlatform(undefined)).toBe("unknown platform");
  });
});

describe("platformSelected", () => {
  const wanted = [parsePlatform("linux/amd64"), parsePlatform("linux/arm/v7")];

  it.each<[string, Platform | undefined, boolean]>([
    ["the exact platform", { os: "linux", architecture: "amd64" }, true],
    ["any variant when none is wanted", { os: "linux", architecture: "amd64", variant: "v3" }, true],
    ["the wanted variant", { os: "linux", architecture: "arm", variant: "v7" }, true],
    ["another variant", { os: "linux", architecture: "arm", variant: "v6" }, false],
    ["no variant when one is wanted", { os: "linux", architecture: "arm" }, false],
    ["another architecture", { os: "linux", architecture: "arm64", variant: "v8" }, false],
    ["another OS", { os: "windows", architecture: "amd64" }, false],
    ["no platform at all", undefined, false],
  ])("%s → %s", (_, candidate, selected) => {
    expect(platformSelected(candidate, wanted)).toBe(selected);
  });

  it("matches arm64 without a variant to a wanted linux/arm64/v8 (v8 is arm64's default)", () => {
    expect(platformSelected({ os: "linux", architecture: "arm64" }, [parsePlatform("linux/arm64/v8")])).toBe(
      true,
    );
  });

  it("does not give arm a default variant: arm without one is not a wanted linux/arm/v7", () => {
    expect(platformSelected({ os: "linux", architecture: "arm" }, [parsePlatform("linux/arm/v7")])).toBe(
      false,
    );
  });

  it("selects nothing when nothing is wanted", () => {
    expect(platformSelected({ os: "linux", architecture: "amd64" }, [])).toBe(false);
  });
});

describe("filterIndex", () => {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [AMD64, ARM64, ARMV7, ATTESTATION],
    annotations: { "org.opencontainers.image.created": "2026-11-26T03:00:00Z" },
  };

  it("keeps only the wanted platforms' descriptors, every other field as it was", () => {
    const filtered = filterIndex(bytes(index), [parsePlatform("linux/amd64"), parsePlatform("linux/arm64")]);

    expect(filtered.kept).toEqual([AMD64, ARM64]);
    expect(JSON.parse(filtered.bytes.toString("utf8"))).toEqual({ ...index, manifests: [AMD64, ARM64] });
    expect(sha256Digest(filtered.bytes)).not.toBe(sha256Digest(bytes(index)));
  });

  it("keeps nothing when no descriptor matches", () => {
    const filtered = filterIndex(bytes(index), [parsePlatform("windows/amd64")]);

    expect(filtered.kept).toEqual([]);
    expect(JSON.parse(filtered.bytes.toString("utf8")).manifests).toEqual([]);
  });
});

describe("sha256Digest", () => {
  it("is the sha256 of the exact bytes", () => {
    expect(sha256Digest(Buffer.from(""))).toBe(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});
