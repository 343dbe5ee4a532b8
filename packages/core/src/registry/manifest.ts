import { createHash } from "node:crypto";
import { UnsupportedManifestError } from "./errors.ts";

/** Manifest and layer media types of the Docker schema 2 and OCI image specs. */
export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaType.dockerManifest, MediaType.ociManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.dockerList, MediaType.ociIndex]);

/** Layers that must not be pushed to another registry (Windows base layers); the copy skips them as skopeo does. */
const FOREIGN_LAYERS: ReadonlySet<string> = new Set([
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
]);

/** The `Accept` header for manifest requests: every type we can copy, indexes first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
].join(", ");

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
}

export type ParsedManifest =
  | { readonly kind: "image"; readonly mediaType: string; readonly blobs: readonly Descriptor[] }
  | { readonly kind: "index"; readonly mediaType: string; readonly manifests: readonly Descriptor[] };

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Descriptor;
  return (
    typeof d === "object" &&
    d !== null &&
    typeof d.digest === "string" &&
    /^sha(256|512):[a-f0-9]+$/.test(d.digest) &&
    typeof d.size === "number" &&
    Number.isInteger(d.size) &&
    d.size >= 0
  );
}

/**
 * Parses manifest bytes to find what they reference. The media type comes from the manifest's own
 * `mediaType` field, or from the response's `Content-Type` when the field is absent (OCI allows that).
 * An image's `blobs` are its config then its distributable layers, in order.
 *
 * @throws UnsupportedManifestError for schema 1, an unknown type or malformed JSON.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  where: string,
): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new UnsupportedManifestError(`The manifest of ${where} is not valid JSON`, { cause: error });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UnsupportedManifestError(`The manifest of ${where} is not a JSON object`);
  }
  const declared = typeof json.mediaType === "string" ? json.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim();
  let mediaType = declared ?? header;
  // OCI manifests may omit mediaType; a registry may answer with a generic Content-Type.
  if (!mediaType || (!IMAGE_TYPES.has(mediaType) && !INDEX_TYPES.has(mediaType))) {
    if (json.schemaVersion === 2 && Array.isArray(json.manifests)) mediaType = MediaType.ociIndex;
    else if (json.schemaVersion === 2 && json.config && Array.isArray(json.layers))
      mediaType = MediaType.ociManifest;
  }
  if (
    mediaType === MediaType.dockerSchema1 ||
    mediaType === MediaType.dockerSchema1Signed ||
    json.schemaVersion === 1
  ) {
    throw new UnsupportedManifestError(
      `${where} is a Docker schema 1 manifest, which gitpod-dr cannot copy with its digest intact; re-push the image with a current Docker or buildkit`,
    );
  }
  if (mediaType && INDEX_TYPES.has(mediaType)) {
    const manifests = json.manifests;
    if (!Array.isArray(manifests) || !manifests.every(isDescriptor)) {
      throw new UnsupportedManifestError(`The index ${where} has a malformed "manifests" list`);
    }
    return { kind: "index", mediaType, manifests: manifests as Descriptor[] };
  }
  if (mediaType && IMAGE_TYPES.has(mediaType)) {
    const config = json.config;
    const layers = json.layers;
    if (!isDescriptor(config) || !Array.isArray(layers) || !layers.every(isDescriptor)) {
      throw new UnsupportedManifestError(`The manifest ${where} has a malformed config or layers list`);
    }
    const blobs = [
      config,
      ...(layers as Descriptor[]).filter((layer) => !FOREIGN_LAYERS.has(layer.mediaType)),
    ];
    return { kind: "image", mediaType, blobs };
  }
  throw new UnsupportedManifestError(
    `${where} has media type "${mediaType ?? "unknown"}", which is not a Docker schema 2 or OCI manifest or index`,
  );
}

/** Parses `os/arch[/variant]` as given to `--platform`. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new UnsupportedManifestError(
      `Invalid platform "${text}": expected os/architecture[/variant], e.g. linux/arm64`,
    );
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(platform: Platform | undefined): string {
  if (!platform) return "unknown platform";
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/** Whether `candidate` is one of the wanted platforms; a wanted platform without variant matches any variant. */
export function platformSelected(candidate: Platform | undefined, wanted: readonly Platform[]): boolean {
  if (!candidate) return false;
  const variant = defaultVariant(candidate);
  return wanted.some(
    (w) =>
      w.os === candidate.os &&
      w.architecture === candidate.architecture &&
      (w.variant === undefined || w.variant === variant),
  );
}

/** arm64 without a variant is v8 (containerd's platform normalisation). */
function defaultVariant(platform: Platform): string | undefined {
  return platform.variant ?? (platform.architecture === "arm64" ? "v8" : undefined);
}

/**
 * The manifest to push when only some platforms of an index are wanted: the same JSON with the
 * `manifests` list filtered (every other field kept). Its digest differs from the source index's.
 */
export function filterIndex(
  bytes: Uint8Array,
  wanted: readonly Platform[],
): { bytes: Buffer; kept: Descriptor[] } {
  const json = JSON.parse(Buffer.from(bytes).toString("utf8")) as { manifests: Descriptor[] };
  const kept = json.manifests.filter((d) => platformSelected(d.platform, wanted));
  return { bytes: Buffer.from(JSON.stringify({ ...json, manifests: kept })), kept };
}
