import { createHash } from "node:crypto";
import { BlobVerificationError, networkError } from "./errors.ts";
import type { Descriptor } from "./manifest.ts";
import { finishUpload, getBlob, patchChunk, putBlob } from "./remote.ts";
import type { RegistryTransport } from "./transport.ts";

/** ECR rejects upload parts smaller than this (except the last). */
export const MIN_CHUNK_SIZE = 5 * 1024 * 1024;

export interface UploadSizes {
  /** Blobs up to this size are uploaded in one PUT; larger ones in chunks. */
  readonly monolithicMax: number;
  /** Chunk size of a chunked upload; at least `MIN_CHUNK_SIZE`. */
  readonly chunkSize: number;
}

export const DEFAULT_UPLOAD_SIZES: UploadSizes = {
  monolithicMax: 64 * 1024 * 1024,
  chunkSize: 32 * 1024 * 1024,
};

export interface ChunkRange {
  readonly start: number;
  readonly length: number;
}

/**
 * How a blob of `size` bytes is uploaded: one range for a monolithic PUT, or consecutive chunks of
 * `chunkSize` (the last one shorter) that cover it exactly.
 */
export function chunkPlan(
  size: number,
  sizes: UploadSizes,
): { mode: "monolithic" | "chunked"; chunks: ChunkRange[] } {
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`Blob size ${size} is not a non-negative integer`);
  if (sizes.chunkSize < MIN_CHUNK_SIZE) {
    throw new RangeError(
      `Chunk size ${sizes.chunkSize} is below the ${MIN_CHUNK_SIZE}-byte minimum that ECR accepts`,
    );
  }
  if (size <= sizes.monolithicMax) return { mode: "monolithic", chunks: [{ start: 0, length: size }] };
  const chunks: ChunkRange[] = [];
  for (let start = 0; start < size; start += sizes.chunkSize) {
    chunks.push({ start, length: Math.min(sizes.chunkSize, size - start) });
  }
  return { mode: "chunked", chunks };
}

/**
 * Passes the source's bytes through while checking them against the descriptor: more bytes than the
 * size fail at once; the last piece is held back until the digest and size are confirmed, so a
 * destination never receives a complete body with the wrong content (the upload is cut short instead).
 *
 * @throws BlobVerificationError (truncated: temporary; wrong digest or too long: not).
 */
export async function* verified(
  source: AsyncIterable<Uint8Array>,
  descriptor: Pick<Descriptor, "digest" | "size">,
  onBytes?: (n: number) => void,
): AsyncGenerator<Buffer> {
  const [algorithm, expectedHex] = descriptor.digest.split(":") as [string, string];
  const hash = createHash(algorithm);
  let seen = 0;
  let held: Buffer | undefined;
  for await (const piece of source) {
    const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    seen += chunk.length;
    if (seen > descriptor.size) {
      throw new BlobVerificationError(
        `Blob ${descriptor.digest} is longer than its descriptor says (${descriptor.size} bytes)`,
        descriptor.digest,
        false,
      );
    }
    hash.update(chunk);
    if (held) {
      onBytes?.(held.length);
      yield held;
    }
    held = chunk;
  }
  if (seen < descriptor.size) {
    throw new BlobVerificationError(
      `Blob ${descriptor.digest} ended after ${seen} of ${descriptor.size} bytes (truncated)`,
      descriptor.digest,
      true,
    );
  }
  const actual = hash.digest("hex");
  if (actual !== expectedHex) {
    throw new BlobVerificationError(
      `Blob ${descriptor.digest} has the wrong content: its bytes hash to ${algorithm}:${actual}`,
      descriptor.digest,
      false,
    );
  }
  if (held) {
    onBytes?.(held.length);
    yield held;
  }
}

/** Reads exact-length slices from one byte stream, each slice itself a stream (no slice is buffered). */
export class ByteSlicer {
  private readonly iterator: AsyncIterator<Buffer>;
  private leftover: Buffer | undefined;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  async *take(length: number): AsyncGenerator<Buffer> {
    let remaining = length;
    while (remaining > 0) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (!chunk) {
        const next = await this.iterator.next();
        if (next.done) return; // the consumer sees a short body; verification reports it
        chunk = next.value;
      }
      if (chunk.length > remaining) {
        this.leftover = chunk.subarray(remaining);
        chunk = chunk.subarray(0, remaining);
      }
      remaining -= chunk.length;
      yield chunk;
    }
  }

  /** Runs the source to its end (so verification of the whole blob completes). */
  async drain(): Promise<number> {
    let extra = this.leftover?.length ?? 0;
    this.leftover = undefined;
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return extra;
      extra += next.value.length;
    }
  }
}

/**
 * Streams one blob from the source repository into an open upload session at the destination:
 * monolithic PUT or chunked PATCHes by `chunkPlan`, verified while streaming. Memory use is the stream
 * buffers only, whatever the blob's size.
 *
 * @returns the number of bytes sent.
 * @throws BlobVerificationError, RegistryError
 */
export async function streamBlob(
  source: { transport: RegistryTransport; repository: string },
  destination: { transport: RegistryTransport; repository: string; location: string },
  descriptor: Pick<Descriptor, "digest" | "size">,
  sizes: UploadSizes,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<number> {
  const response = await getBlob(source.transport, source.repository, descriptor.digest, options.signal);
  const declared = response.headers["content-length"];
  if (declared !== undefined && Number(declared) !== descriptor.size) {
    response.body.destroy();
    throw new BlobVerificationError(
      `Blob ${descriptor.digest}: the source registry sends ${declared} bytes, the descriptor says ${descriptor.size}`,
      descriptor.digest,
      Number(declared) < descriptor.size,
    );
  }
  // The source body is read by the destination's upload request: a read that fails there would be
  // reported as the upload's failure, blaming the healthy destination. Remember it, and report it.
  let sourceFailure: Error | undefined;
  const what = `Download blob ${descriptor.digest} from ${source.repository} at ${source.transport.registry}`;
  const fromSource = readingSource(response.body as AsyncIterable<Uint8Array>, (error) => {
    if (options.signal?.aborted) return error;
    sourceFailure ??= networkError(error, what);
    return sourceFailure;
  });
  const stream = verified(fromSource, descriptor, options.onBytes);
  const plan = chunkPlan(descriptor.size, sizes);
  const dst = destination.transport;
  try {
    if (plan.mode === "monolithic") {
      await putBlob(
        dst,
        destination.repository,
        destination.location,
        descriptor.digest,
        descriptor.size,
        stream,
        options.signal,
      );
      return descriptor.size;
    }
    const slicer = new ByteSlicer(stream);
    let location = destination.location;
    for (const chunk of plan.chunks) {
      location = await patchChunk(
        dst,
        destination.repository,
        location,
        chunk.start,
        chunk.length,
        slicer.take(chunk.length),
        options.signal,
      );
    }
    // Every byte was sent; the digest check runs when the stream ends. Nothing may follow.
    const extra = await slicer.drain();
    if (extra > 0) {
      throw new BlobVerificationError(
        `Blob ${descriptor.digest} is longer than its descriptor says`,
        descriptor.digest,
        false,
      );
    }
    await finishUpload(dst, destination.repository, location, descriptor.digest, options.signal);
    return descriptor.size;
  } catch (error) {
    response.body.destroy();
    throw sourceFailure ?? unwrapBodyError(error);
  }
}

/**
 * The source's bytes, with a failure to read them (a reset, a timeout) turned by `onError` into the
 * error to throw. Only the reads are wrapped: an error thrown into the generator by its consumer (the
 * upload stopping) is not the source's.
 */
async function* readingSource(
  source: AsyncIterable<Uint8Array>,
  onError: (error: unknown) => unknown,
): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        done = true;
        throw onError(error);
      }
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Stopped early (as `for await` would): let the source release its connection.
    if (!done) await iterator.return?.();
  }
}

/** A body error may reach us wrapped (by the transport's classification); the verification error inside is the real cause. */
function unwrapBodyError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof BlobVerificationError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return error;
}
