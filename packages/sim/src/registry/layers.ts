/**
 * Test image layers and media types, generated in memory (the push helpers are in `./images.ts`).
 *
 * Layers are real tar archives holding one file of pseudo-random bytes: AES-128-CTR keystream, seeded
 * when a seed is given, so 1 GB is produced in about a second. Layers larger than 16 MB default to an
 * uncompressed tar (gzip of random bytes is slow and gains nothing); for sizes that should not sit in
 * memory use `randomLayerStream`.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import zlib from "node:zlib";

export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** Uncompressed docker layer; only used when a `format: "docker"` image gets an uncompressed tar. */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";

/** Every manifest media type, for `Accept` headers. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerList,
].join(", ");

/** A layer held in memory; `bytes` are already compressed as `mediaType` says (default: gzip). */
export interface Layer {
  bytes: Buffer;
  mediaType?: string;
  /** sha256 of the uncompressed tar, for the config's rootfs.diff_ids (computed when missing). */
  diffId?: string;
  /** sha256 of `bytes`, trusted when given (saves hashing big layers again); computed when missing. */
  digest?: string;
}

/** A layer too big for memory: `open()` produces the same bytes each time. Always an uncompressed tar. */
export interface StreamLayer {
  mediaType: string;
  size: number;
  digest: string;
  diffId: string;
  open(): Readable;
}

export type AnyLayer = Layer | StreamLayer;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PushedImage {
  repo: string;
  /** The tag it was pushed under, or its digest when pushed by digest. */
  ref: string;
  digest: string;
  mediaType: string;
  /** The exact manifest bytes. */
  manifest: Buffer;
  /** Config and layer blobs (for an index: the union of its children's blobs). */
  blobs: { digest: string; size: number }[];
  /** The image's platform (absent for an index). */
  platform?: Platform;
}

export interface RequestOptions {
  /** A full `Authorization` header value, e.g. "Bearer eyJ..." or "Basic dXNlcjpwYXNz". */
  authorization?: string;
  scheme?: "http";
}

/**
 * The well-known empty gzipped tar (two zero blocks) Docker uses for empty layers:
 * 32 bytes, sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4
 * (checked by test/integration/registry-fixtures.test.ts). It gunzips to 1024 zero bytes.
 */
export const EMPTY_LAYER: Layer = {
  bytes: Buffer.from("H4sIAAAJbogA/2IYBaNgFIxYAAgAAP//Lq+17wAEAAA=", "base64"),
  mediaType: MediaTypes.ociLayerGzip,
  diffId: "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
  digest: "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
};
export const EMPTY_LAYER_DIGEST = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------------
// Layer generation

const GZIP_DEFAULT_LIMIT = 16 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

function keystream(seed: number | undefined) {
  const material =
    seed === undefined
      ? randomBytes(32)
      : createHash("sha256").update(`gitpod-dr-test-layer:${seed}`).digest();
  return createCipheriv("aes-128-ctr", material.subarray(0, 16), material.subarray(16, 32));
}

function tarHeader(name: string, size: number): Buffer {
  if (size >= 8 ** 11) throw new Error(`tar fixture: ${size} bytes does not fit an ustar size field`);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "ascii");
  h.write("0000644\0", 100, "ascii"); // mode
  h.write("0000000\0", 108, "ascii"); // uid
  h.write("0000000\0", 116, "ascii"); // gid
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii"); // size
  h.write("00000000000\0", 136, "ascii"); // mtime: the epoch, for determinism
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write("0", 156, "ascii"); // typeflag: regular file
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write("root", 265, "ascii"); // uname
  h.write("root", 297, "ascii"); // gname
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

function tarPadding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** Size in bytes of the tar archive holding one file of `size` bytes. */
export function tarSize(size: number): number {
  return 512 + size + tarPadding(size) + 1024;
}

function fileName(seed: number | undefined): string {
  return seed === undefined ? "random.bin" : `random-${seed}.bin`;
}

/**
 * A layer: a tar holding one file of `size` pseudo-random bytes, gzipped when `gzip` (default: true up to
 * 16 MB, false above). Deterministic when `seed` is given.
 */
export function randomLayer(
  size: number,
  opts: { gzip?: boolean | undefined; seed?: number | undefined } = {},
): Layer {
  const gzip = opts.gzip ?? size <= GZIP_DEFAULT_LIMIT;
  const tar = Buffer.alloc(tarSize(size)); // zero-filled: padding and the end-of-archive blocks
  tarHeader(fileName(opts.seed), size).copy(tar, 0);
  const cipher = keystream(opts.seed);
  for (let off = 0; off < size; off += CHUNK) {
    const n = Math.min(CHUNK, size - off);
    cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n)).copy(tar, 512 + off);
  }
  const diffId = sha256(tar);
  if (!gzip) return { bytes: tar, mediaType: MediaTypes.ociLayer, diffId, digest: diffId };
  const bytes = zlib.gzipSync(tar, { level: 1 });
  return { bytes, mediaType: MediaTypes.ociLayerGzip, diffId, digest: sha256(bytes) };
}

function* tarChunks(size: number, seed: number | undefined, material: Buffer): Generator<Buffer> {
  yield tarHeader(fileName(seed), size);
  const cipher = createCipheriv("aes-128-ctr", material.subarray(0, 16), material.subarray(16, 32));
  for (let off = 0; off < size; off += CHUNK) {
    const n = Math.min(CHUNK, size - off);
    yield cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n));
  }
  yield Buffer.alloc(tarPadding(size) + 1024);
}

/**
 * Like `randomLayer` with `gzip: false`, but never held in memory: the content is produced again by each
 * `open()`. Its digest is computed up front by one pass over the stream (about 1 s per GB).
 */
export async function randomLayerStream(size: number, opts: { seed?: number } = {}): Promise<StreamLayer> {
  const material =
    opts.seed === undefined
      ? randomBytes(32)
      : createHash("sha256").update(`gitpod-dr-test-layer:${opts.seed}`).digest();
  const open = () => Readable.from(tarChunks(size, opts.seed, material), { objectMode: false });
  const hash = createHash("sha256");
  for await (const chunk of open()) hash.update(chunk as Buffer);
  const digest = `sha256:${hash.digest("hex")}`;
  return { mediaType: MediaTypes.ociLayer, size: tarSize(size), digest, diffId: digest, open };
}

export function isStreamLayer(layer: AnyLayer): layer is StreamLayer {
  return "open" in layer;
}
