import { setTimeout as delay } from "node:timers/promises";
import pLimit, { type LimitFunction } from "p-limit";
import { DEFAULT_UPLOAD_SIZES, streamBlob, type UploadSizes } from "./blob.ts";
import { CopyAbortedError, isTemporary, RegistryError } from "./errors.ts";
import {
  type Descriptor,
  filterIndex,
  formatPlatform,
  type ParsedManifest,
  type Platform,
  parseManifest,
  sha256Digest,
} from "./manifest.ts";
import { formatReference, type Reference, referenceTarget } from "./reference.ts";
import {
  blobExists,
  cancelUpload,
  type FetchedManifest,
  getManifest,
  headManifest,
  mountBlob,
  putManifest,
  startUpload,
} from "./remote.ts";
import type { RegistryTransport } from "./transport.ts";

/**
 * The front of the engine (go-containerregistry's `crane.Copy`): copy one image, or many in one
 * session that shares blob transfers between them.
 */

export type ImageStatus = "copied" | "up-to-date" | "failed";

export interface ImageReport {
  readonly source: string;
  readonly destination: string;
  readonly status: ImageStatus;
  /** Digest now at the destination (equal to the source's unless a platform filter rewrote an index). */
  readonly digest?: string;
  readonly bytesMoved: number;
  readonly blobsCopied: number;
  /** Blobs already present in the destination repository (or copied there by another image in this run). */
  readonly blobsSkipped: number;
  /** Blobs linked from another repository of the destination registry instead of uploaded. */
  readonly blobsMounted: number;
  readonly manifestsPushed: number;
  readonly durationMs: number;
  readonly error?: {
    readonly name: string;
    readonly message: string;
    readonly code?: string;
    /** Present (true) when the failure was temporary (5xx, 429, a reset) and a later attempt may succeed. */
    readonly retryable?: true;
  };
}

export type CopyEvent =
  | { readonly kind: "bytes"; readonly bytes: number }
  | { readonly kind: "blob"; readonly action: "copied" | "skipped" | "mounted"; readonly digest: string }
  | { readonly kind: "image"; readonly report: ImageReport };

export interface CopyOptions {
  /** Copy only these platforms of an index (the pushed index then lists only them). Default: all. */
  readonly platforms?: readonly Platform[];
  /** Blob transfers in flight at once, across all images of the session. Default 6. */
  readonly concurrency?: number;
  readonly uploadSizes?: UploadSizes;
  /** Attempts per blob transfer for temporary failures (resets, truncated bodies). Default 3. */
  readonly blobAttempts?: number;
  /** Copy even when the destination tag already has the source's digest. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: CopyEvent) => void;
  /** Backoff between blob attempts; injected in tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Gives the transport for a registry host; the session asks once per host. */
export type TransportFor = (registry: string) => RegistryTransport;

type BlobAction = "copied" | "skipped" | "mounted";

interface Counters {
  bytesMoved: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  manifestsPushed: number;
}

export const DEFAULT_CONCURRENCY = 6;

/**
 * One copy run. Blob transfers are bounded by one limit across all images; a blob that several images
 * (or several layers of one image) need is transferred once: the same repository waits for the first
 * transfer, another repository of the same registry mounts it from there.
 */
export class CopySession {
  private readonly limit: LimitFunction;
  private readonly options: CopyOptions;
  private readonly sizes: UploadSizes;
  /** `registry/repo@digest` → the placement of that blob there (in flight or done). */
  private readonly placed = new Map<string, Promise<BlobAction>>();
  /** `registry@digest` → the first placement anywhere in that registry, for others to wait on. */
  private readonly firstInRegistry = new Map<string, Promise<BlobAction>>();
  /** `registry@digest` → repositories known to hold the blob: mount sources. */
  private readonly holders = new Map<string, Set<string>>();

  constructor(
    private readonly transportFor: TransportFor,
    options: CopyOptions = {},
  ) {
    this.options = options;
    this.sizes = options.uploadSizes ?? DEFAULT_UPLOAD_SIZES;
    this.limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * Copies `source` to `destination` with every digest unchanged. A destination whose tag already has
   * the source digest costs one manifest HEAD on each side. Never throws for a copy failure: the
   * report says `failed` with the error (a bad image must not stop a run).
   */
  async copyImage(
    source: Reference,
    destination: Reference,
    /** Per-image override of the session's platform filter (sync rules differ; the session is shared). */
    only?: { readonly platforms?: readonly Platform[] },
  ): Promise<ImageReport> {
    const started = Date.now();
    const counters: Counters = {
      bytesMoved: 0,
      blobsCopied: 0,
      blobsSkipped: 0,
      blobsMounted: 0,
      manifestsPushed: 0,
    };
    const base = { source: formatReference(source), destination: formatReference(destination) };
    const finish = (status: ImageStatus, extra: { digest?: string; error?: unknown } = {}): ImageReport => {
      const report: ImageReport = {
        ...base,
        status,
        ...(extra.digest ? { digest: extra.digest } : {}),
        ...counters,
        durationMs: Date.now() - started,
        ...(extra.error !== undefined ? { error: describeError(extra.error) } : {}),
      };
      this.options.onEvent?.({ kind: "image", report });
      return report;
    };
    try {
      const digest = await this.copy(
        source,
        destination,
        counters,
        only?.platforms ?? this.options.platforms,
      );
      return finish(digest.changed ? "copied" : "up-to-date", { digest: digest.digest });
    } catch (error) {
      // An abort surfaces from inside the HTTP stack as a generic AbortError: report it by our name
      // (retryable), so a deadline is not mistaken for a broken image.
      const stopped = this.options.signal?.aborted && !(error instanceof CopyAbortedError);
      return finish("failed", {
        error: stopped ? new CopyAbortedError("The copy was stopped before it finished") : error,
      });
    }
  }

  private async copy(
    source: Reference,
    destination: Reference,
    counters: Counters,
    platforms: readonly Platform[] | undefined,
  ): Promise<{ digest: string; changed: boolean }> {
    this.checkAborted();
    const signal = this.options.signal;
    const src = this.transportFor(source.registry);
    const dst = this.transportFor(destination.registry);
    const srcTarget = referenceTarget(source);
    const dstTarget = destination.tag ?? destination.digest ?? source.tag ?? srcTarget;
    const where = formatReference(source);

    // Both HEADs at once: an unchanged tag then costs one round trip.
    const [srcHead, dstHead] = await Promise.all([
      headManifest(src, source.repository, srcTarget, signal),
      this.options.force ? undefined : headManifest(dst, destination.repository, dstTarget, signal),
    ]);
    if (!srcHead) {
      throw new RegistryError(`${where} does not exist in the source registry`, {
        status: 404,
        registryCode: "MANIFEST_UNKNOWN",
        temporary: false,
      });
    }
    const filtering = platforms !== undefined && platforms.length > 0;
    if (!filtering && dstHead?.digest === srcHead.digest) return { digest: srcHead.digest, changed: false };

    const manifest = await getManifest(src, source.repository, srcHead.digest, signal);
    if (!manifest) {
      throw new RegistryError(`${where} disappeared from the source registry during the copy`, {
        status: 404,
        registryCode: "MANIFEST_UNKNOWN",
        temporary: true,
      });
    }
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, where);
    // The media type the manifest declares (or its shape implies), not a registry's generic Content-Type.
    let toPush: FetchedManifest = { ...manifest, mediaType: parsed.mediaType };
    let children: readonly Descriptor[] | undefined = parsed.kind === "index" ? parsed.manifests : undefined;
    if (filtering && parsed.kind === "index") {
      const filtered = filterIndex(manifest.bytes, platforms);
      if (filtered.kept.length === 0) {
        const available = parsed.manifests.map((d) => formatPlatform(d.platform)).join(", ");
        throw new RegistryError(
          `${where} has none of the platforms ${platforms.map(formatPlatform).join(", ")} (it has ${available})`,
          { status: 0, registryCode: "PLATFORM_NOT_FOUND", temporary: false },
        );
      }
      toPush = { bytes: filtered.bytes, mediaType: parsed.mediaType, digest: sha256Digest(filtered.bytes) };
      children = filtered.kept;
      if (dstHead?.digest === toPush.digest) return { digest: toPush.digest, changed: false };
    } else if (filtering && dstHead?.digest === srcHead.digest) {
      return { digest: srcHead.digest, changed: false };
    }

    const ctx = { src, dst, source, destination, counters };
    if (parsed.kind === "index") {
      await Promise.all((children ?? []).map((child) => this.copyChild(ctx, child)));
    } else {
      await this.copyBlobs(ctx, parsed);
    }
    this.checkAborted();
    await putManifest(dst, destination.repository, dstTarget, toPush, signal);
    counters.manifestsPushed++;
    return { digest: toPush.digest, changed: true };
  }

  /** A child of an index: its blobs, then the child manifest by digest (children before their index). */
  private async copyChild(ctx: CopyContext, child: Descriptor): Promise<void> {
    const signal = this.options.signal;
    const where = `${formatReference(ctx.source)} (${formatPlatform(child.platform)} ${child.digest})`;
    if (await headManifest(ctx.dst, ctx.destination.repository, child.digest, signal)) return;
    const manifest = await getManifest(ctx.src, ctx.source.repository, child.digest, signal);
    if (!manifest) {
      throw new RegistryError(`${where} is listed in the index but missing from the source registry`, {
        status: 404,
        registryCode: "MANIFEST_UNKNOWN",
        temporary: false,
      });
    }
    const parsed = parseManifest(manifest.bytes, child.mediaType, where);
    if (parsed.kind === "index") {
      await Promise.all(parsed.manifests.map((grandchild) => this.copyChild(ctx, grandchild)));
    } else {
      await this.copyBlobs(ctx, parsed);
    }
    this.checkAborted();
    await putManifest(
      ctx.dst,
      ctx.destination.repository,
      child.digest,
      { bytes: manifest.bytes, mediaType: parsed.mediaType },
      signal,
    );
    ctx.counters.manifestsPushed++;
  }

  private async copyBlobs(
    ctx: CopyContext,
    image: Extract<ParsedManifest, { kind: "image" }>,
  ): Promise<void> {
    // One image's repeated layers are one blob.
    const unique = new Map(image.blobs.map((blob) => [blob.digest, blob]));
    await Promise.all([...unique.values()].map((blob) => this.ensureBlob(ctx, blob)));
  }

  private async ensureBlob(ctx: CopyContext, blob: Descriptor): Promise<void> {
    const registry = ctx.destination.registry;
    const repoKey = `${registry}/${ctx.destination.repository}@${blob.digest}`;
    const existing = this.placed.get(repoKey);
    if (existing) {
      await existing;
      ctx.counters.blobsSkipped++;
      this.options.onEvent?.({ kind: "blob", action: "skipped", digest: blob.digest });
      return;
    }
    const registryKey = `${registry}@${blob.digest}`;
    const elsewhere = this.firstInRegistry.get(registryKey);
    const placement = (async () => {
      // Another repository of this registry is receiving the same blob: wait, then mount from it.
      if (elsewhere) await elsewhere.catch(() => undefined);
      return this.limit(() => this.placeBlob(ctx, blob));
    })();
    this.placed.set(repoKey, placement);
    if (!elsewhere) this.firstInRegistry.set(registryKey, placement);
    let action: BlobAction;
    try {
      action = await placement;
    } catch (error) {
      // A failed placement is forgotten, so a later image tries again.
      this.placed.delete(repoKey);
      if (this.firstInRegistry.get(registryKey) === placement) this.firstInRegistry.delete(registryKey);
      throw error;
    }
    if (action === "copied") ctx.counters.blobsCopied++;
    else if (action === "mounted") ctx.counters.blobsMounted++;
    else ctx.counters.blobsSkipped++;
    this.options.onEvent?.({ kind: "blob", action, digest: blob.digest });
  }

  /** HEAD, then mount, then stream: the cheapest way to get one blob into the destination repository. */
  private async placeBlob(ctx: CopyContext, blob: Descriptor): Promise<BlobAction> {
    this.checkAborted();
    const signal = this.options.signal;
    const { dst, destination, source } = ctx;
    const repo = destination.repository;
    if (await blobExists(dst, repo, blob.digest, signal)) {
      this.remember(destination.registry, repo, blob.digest);
      return "skipped";
    }
    let location: string | undefined;
    const from = this.mountSource(ctx, blob.digest);
    if (from) {
      try {
        const mount = await mountBlob(dst, repo, blob.digest, from, signal);
        if (mount.mounted) {
          this.remember(destination.registry, repo, blob.digest);
          return "mounted";
        }
        location = mount.location; // 202: the registry did not mount; upload into the session it opened
      } catch (error) {
        // A mount is an optimisation: a registry that refuses it (no pull on the other repository,
        // 401 insufficient_scope, 404) gets the blob uploaded instead.
        if (isTemporary(error) || signal?.aborted) throw error;
      }
    }
    const attempts = this.options.blobAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      this.checkAborted();
      location ??= await startUpload(dst, repo, signal);
      try {
        // Not `counters.bytesMoved += await …`: that reads the counter before the await and loses the
        // bytes of transfers that finish meanwhile.
        const sent = await streamBlob(
          { transport: ctx.src, repository: source.repository },
          { transport: dst, repository: repo, location },
          blob,
          this.sizes,
          {
            ...(signal ? { signal } : {}),
            onBytes: (n) => this.options.onEvent?.({ kind: "bytes", bytes: n }),
          },
        );
        ctx.counters.bytesMoved += sent;
        this.remember(destination.registry, repo, blob.digest);
        return "copied";
      } catch (error) {
        await cancelUpload(dst, repo, location);
        location = undefined;
        // The final PUT may have committed with its answer lost (a retry then sees BLOB_UPLOAD_UNKNOWN):
        // what counts is whether the blob is there now.
        if (!signal?.aborted && (await blobExists(dst, repo, blob.digest, signal).catch(() => false))) {
          this.remember(destination.registry, repo, blob.digest);
          return "copied";
        }
        if (!isTemporary(error) || attempt >= attempts || signal?.aborted) throw error;
        await (this.options.sleep ?? ((ms) => delay(ms)))(Math.round(Math.random() * 500 * 2 ** attempt));
      }
    }
  }

  /** A repository of the destination registry that holds the blob, to mount from. */
  private mountSource(ctx: CopyContext, digest: string): string | undefined {
    const holders = this.holders.get(`${ctx.destination.registry}@${digest}`);
    for (const repo of holders ?? []) if (repo !== ctx.destination.repository) return repo;
    // Same registry: the source repository holds it.
    if (
      ctx.source.registry === ctx.destination.registry &&
      ctx.source.repository !== ctx.destination.repository
    ) {
      return ctx.source.repository;
    }
    return undefined;
  }

  private remember(registry: string, repo: string, digest: string): void {
    const key = `${registry}@${digest}`;
    const set = this.holders.get(key) ?? new Set<string>();
    set.add(repo);
    this.holders.set(key, set);
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new CopyAbortedError("The copy was stopped before it finished");
  }
}

interface CopyContext {
  readonly src: RegistryTransport;
  readonly dst: RegistryTransport;
  readonly source: Reference;
  readonly destination: Reference;
  readonly counters: Counters;
}

function describeError(error: unknown): { name: string; message: string; code?: string; retryable?: true } {
  if (error instanceof RegistryError)
    return {
      name: error.name,
      message: error.message,
      code: error.registryCode,
      // A registry hiccup that outlasted the transport's retries: a later attempt may succeed.
      ...(error.temporary ? { retryable: true as const } : {}),
    };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/**
 * Copies one image with every manifest digest unchanged (an index with all its children unless
 * `platforms` says otherwise); the per-image unit a Step Functions Map can call on its own.
 */
export function copyImage(
  source: Reference,
  destination: Reference,
  transportFor: TransportFor,
  options: CopyOptions = {},
): Promise<ImageReport> {
  return new CopySession(transportFor, options).copyImage(source, destination);
}
