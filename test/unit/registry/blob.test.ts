import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ByteSlicer,
  chunkPlan,
  MIN_CHUNK_SIZE,
  streamBlob,
  VerifyingStream,
} from "../../../packages/core/src/registry/blob.ts";
import { BlobVerificationError } from "../../../packages/core/src/registry/errors.ts";
import { sha256Digest } from "../../../packages/core/src/registry/manifest.ts";
import { startUpload } from "../../../packages/core/src/registry/remote.ts";
import { RegistryTransport } from "../../../packages/core/src/registry/transport.ts";
import { FakeNetwork } from "./fake-network.ts";
import { FakeRegistry } from "./fake-registry.ts";

const MiB = 1024 * 1024;

async function* pieces(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield part;
}

/**
 * `source` through a VerifyingStream, read as an async iterable: what the stream passes on, and its
 * error. It reads `source` at once, passes pieces on in batches, and drops what was not yet read when
 * verification fails.
 */
function verified(
  source: AsyncIterable<Uint8Array>,
  descriptor: { digest: string; size: number },
  onBytes?: (n: number) => void,
): AsyncIterable<Buffer> {
  const verifier = new VerifyingStream(descriptor, onBytes);
  pipeline(Readable.from(source, { objectMode: false }), verifier).catch(() => undefined);
  return verifier;
}

/** Runs `verified` to its end; returns what it yielded and the error it threw, if any. */
async function drainVerified(parts: Buffer[], descriptor: { digest: string; size: number }) {
  const yielded: Buffer[] = [];
  const counted: number[] = [];
  let error: unknown;
  try {
    for await (const piece of verified(pieces(...parts), descriptor, (n) => counted.push(n)))
      yielded.push(piece);
  } catch (e) {
    error = e;
  }
  return { bytes: Buffer.concat(yielded), counted, error: error as BlobVerificationError | undefined };
}

describe("chunkPlan", () => {
  const sizes = { monolithicMax: 64 * MiB, chunkSize: 32 * MiB };

  it("uploads a blob at or below the limit in one PUT", () => {
    expect(chunkPlan(64 * MiB, sizes)).toEqual({
      mode: "monolithic",
      chunks: [{ start: 0, length: 64 * MiB }],
    });
    expect(chunkPlan(1, sizes)).toEqual({ mode: "monolithic", chunks: [{ start: 0, length: 1 }] });
  });

  it("uploads an empty blob as one empty PUT", () => {
    expect(chunkPlan(0, sizes)).toEqual({ mode: "monolithic", chunks: [{ start: 0, length: 0 }] });
  });

  it("cuts a larger blob into chunks that cover it exactly, the last one shorter", () => {
    const size = 64 * MiB + 1;

    expect(chunkPlan(size, sizes)).toEqual({
      mode: "chunked",
      chunks: [
        { start: 0, length: 32 * MiB },
        { start: 32 * MiB, length: 32 * MiB },
        { start: 64 * MiB, length: 1 },
      ],
    });
    expect(chunkPlan(96 * MiB, sizes).chunks.map((c) => c.length)).toEqual([32 * MiB, 32 * MiB, 32 * MiB]);
  });

  it("refuses a chunk size below ECR's 5 MiB minimum, and a size that is not a whole number", () => {
    expect(() => chunkPlan(10, { monolithicMax: 0, chunkSize: MIN_CHUNK_SIZE - 1 })).toThrow(RangeError);
    expect(() => chunkPlan(10, { monolithicMax: 0, chunkSize: MIN_CHUNK_SIZE - 1 })).toThrow(
      /5242880-byte minimum/,
    );
    expect(() => chunkPlan(-1, sizes)).toThrow(RangeError);
    expect(() => chunkPlan(1.5, sizes)).toThrow(RangeError);
  });

  it("always covers the blob with contiguous chunks of the chunk size, only the last shorter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 * 1024 * MiB }),
        fc.integer({ min: MIN_CHUNK_SIZE, max: 512 * MiB }),
        fc.integer({ min: 0, max: 256 * MiB }),
        (size, chunkSize, monolithicMax) => {
          const plan = chunkPlan(size, { monolithicMax, chunkSize });

          expect(plan.mode).toBe(size <= monolithicMax ? "monolithic" : "chunked");
          expect(plan.chunks.reduce((n, c) => n + c.length, 0)).toBe(size);
          const contiguous = plan.chunks.every(
            (c, i) =>
              c.start ===
              (i === 0 ? 0 : (plan.chunks[i - 1]?.start ?? 0) + (plan.chunks[i - 1]?.length ?? 0)),
          );
          expect(contiguous).toBe(true);
          if (plan.mode === "chunked") {
            const last = plan.chunks.at(-1);
            expect(
              plan.chunks.slice(0, -1).every((c) => c.length === chunkSize && c.length >= MIN_CHUNK_SIZE),
            ).toBe(true);
            expect(last?.length).toBeGreaterThan(0);
            expect(last?.length).toBeLessThanOrEqual(chunkSize);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("VerifyingStream", () => {
  const body = Buffer.from("the quick brown fox jumps over the lazy dog");
  const parts = [body.subarray(0, 10), body.subarray(10, 30), body.subarray(30)];
  const descriptor = { digest: sha256Digest(body), size: body.length };

  it("passes correct bytes through unchanged, counting every byte passed on", async () => {
    const { bytes, counted, error } = await drainVerified(parts, descriptor);

    expect(error).toBeUndefined();
    expect(bytes).toEqual(body);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(body.length);
  });

  it("never passes on a complete wrong body, even when an empty piece follows a piece larger than a batch", async () => {
    const good = randomBytes(2 * MiB);
    const bad = Buffer.from(good);
    bad[0] = (bad[0] ?? 0) ^ 0xff;

    // Written straight to the stream: a Readable source never passes an empty piece on, a writer may.
    const verifier = new VerifyingStream({ digest: sha256Digest(good), size: good.length });
    const out: Buffer[] = [];
    verifier.on("data", (piece: Buffer) => out.push(piece));
    const failed = new Promise((resolve) => verifier.on("error", resolve));
    verifier.write(bad);
    verifier.write(Buffer.alloc(0));
    verifier.end();

    expect(await failed).toMatchObject({ name: "BlobVerificationFailed", truncated: false });
    expect(Buffer.concat(out).length).toBeLessThan(bad.length);
  });

  it("passes a large body on in batches of about 1 MiB, the newest piece always held back", async () => {
    const large = randomBytes(3 * MiB + 5);
    const reads = [];
    for (let at = 0; at < large.length; at += 64 * 1024) reads.push(large.subarray(at, at + 64 * 1024));
    const seen: number[] = [];
    const verifier = verified(pieces(...reads), { digest: sha256Digest(large), size: large.length });
    const out: Buffer[] = [];
    for await (const batch of verifier) {
      out.push(batch);
      seen.push(batch.length);
    }

    expect(Buffer.concat(out).equals(large)).toBe(true);
    // 48 reads of 64 KiB and one of 5 bytes: two batches of 16 reads, then the last 16 reads with the
    // 5-byte tail, passed on only once the digest matched.
    expect(seen).toEqual([MiB, MiB, MiB + 5]);
  });

  it("passes an empty blob", async () => {
    const { bytes, error } = await drainVerified([], { digest: sha256Digest(Buffer.alloc(0)), size: 0 });

    expect(error).toBeUndefined();
    expect(bytes.length).toBe(0);
  });

  it("reports a short body as truncated (temporary)", async () => {
    const { error } = await drainVerified(parts.slice(0, 2), descriptor);

    expect(error).toBeInstanceOf(BlobVerificationError);
    expect(error).toMatchObject({
      name: "BlobVerificationFailed",
      truncated: true,
      temporary: true,
      retryable: true,
    });
    expect(error?.message).toBe(
      `Blob ${descriptor.digest} ended after 30 of ${body.length} bytes (truncated)`,
    );
  });

  it("reports the wrong content, and never yields the final piece", async () => {
    const wrong = Buffer.from(body);
    wrong[body.length - 1] = 0x21;

    const { bytes, error } = await drainVerified(
      [wrong.subarray(0, 10), wrong.subarray(10, 30), wrong.subarray(30)],
      descriptor,
    );

    expect(error).toMatchObject({
      name: "BlobVerificationFailed",
      truncated: false,
      temporary: false,
      digest: descriptor.digest,
    });
    expect(error?.message).toContain(`hash to ${sha256Digest(wrong)}`);
    // What was passed on is a prefix of the pieces before the last (a stream may drop what its reader
    // had not taken yet when it fails); the final piece never is.
    expect(bytes.length).toBeLessThanOrEqual(30);
    expect(bytes).toEqual(wrong.subarray(0, bytes.length));
  });

  it("reports extra bytes at once as not truncated, before the complete body is passed on", async () => {
    const { bytes, error } = await drainVerified([...parts, Buffer.from("!")], descriptor);

    expect(error).toMatchObject({ truncated: false, temporary: false });
    expect(error?.message).toContain("longer than its descriptor says");
    expect(bytes.length).toBeLessThan(body.length);
  });

  it("never yields a complete body with a wrong digest, whatever the split", () => {
    return fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (data, cuts) => {
          const bytes = Buffer.from(data);
          const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
          const split = [0, ...points, bytes.length]
            .slice(0, -1)
            .map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length))
            .filter((p) => p.length > 0);
          const claimed = {
            digest: sha256Digest(Buffer.concat([bytes, Buffer.from("x")])),
            size: bytes.length,
          };

          const result = await drainVerified(split, claimed);

          expect(result.error).toMatchObject({ truncated: false });
          expect(result.bytes.length).toBeLessThan(bytes.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("ByteSlicer", () => {
  it("takes exact slices across chunk boundaries, then drains what is left", async () => {
    const slicer = new ByteSlicer(
      pieces(Buffer.from("abc"), Buffer.from("defgh"), Buffer.from("ij"), Buffer.from("klm")),
    );
    const take = async (n: number) => {
      const out: Buffer[] = [];
      for await (const piece of slicer.take(n)) out.push(piece);
      return Buffer.concat(out).toString();
    };

    const slices = [await take(4), await take(4), await take(1)];
    const extra = await slicer.drain();

    expect(slices).toEqual(["abcd", "efgh", "i"]);
    expect(extra).toBe(4);
  });

  it("ends a slice short when the source ends", async () => {
    const slicer = new ByteSlicer(pieces(Buffer.from("abc")));
    const out: Buffer[] = [];

    for await (const piece of slicer.take(10)) out.push(piece);

    expect(Buffer.concat(out).toString()).toBe("abc");
    expect(await slicer.drain()).toBe(0);
  });

  it("reassembles the source exactly for any chunking and slicing", () => {
    return fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        async (chunks, lengths) => {
          const source = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          const slicer = new ByteSlicer(pieces(...chunks.map((c) => Buffer.from(c))));
          const slices: Buffer[] = [];
          for (const length of lengths) {
            const out: Buffer[] = [];
            for await (const piece of slicer.take(length)) out.push(piece);
            slices.push(Buffer.concat(out));
          }
          const extra = await slicer.drain();

          let offset = 0;
          lengths.forEach((length, i) => {
            const expected = source.subarray(offset, Math.min(offset + length, source.length));
            expect(slices[i]).toEqual(expected);
            offset += expected.length;
          });
          expect(extra).toBe(source.length - offset);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("streamBlob", () => {
  let network: FakeNetwork;
  beforeEach(async () => {
    network = await FakeNetwork.start();
  });
  afterEach(async () => {
    await network.close();
  });

  function world() {
    const src = new FakeRegistry("src.test", network);
    const dst = new FakeRegistry("dst.test", network);
    const transport = (registry: string) =>
      new RegistryTransport({ registry, agents: network.agents, sleep: async () => undefined });
    return { src, dst, srcT: transport("src.test"), dstT: transport("dst.test") };
  }

  it("uploads a small blob in one PUT, verified", async () => {
    const { src, dst, srcT, dstT } = world();
    const bytes = randomBytes(1000);
    const digest = src.addBlob("a", bytes);
    const location = await startUpload(dstT, "b");

    const sent = await streamBlob(
      { transport: srcT, repository: "a" },
      { transport: dstT, repository: "b", location },
      { digest, size: bytes.length },
      { monolithicMax: MiB, chunkSize: MIN_CHUNK_SIZE },
    );

    expect(sent).toBe(1000);
    expect(dst.blobs.get(digest)).toEqual(bytes);
    expect(dst.repo("b").blobs.has(digest)).toBe(true);
    expect(dst.requests.map((r) => r.method)).toEqual(["POST", "PUT"]);
  });

  it("uploads a large blob in chunks with exact Content-Ranges, then closes the upload", async () => {
    const { src, dst, srcT, dstT } = world();
    const bytes = randomBytes(2 * MIN_CHUNK_SIZE + 123);
    const digest = src.addBlob("a", bytes);
    const location = await startUpload(dstT, "b");

    await streamBlob(
      { transport: srcT, repository: "a" },
      { transport: dstT, repository: "b", location },
      { digest, size: bytes.length },
      { monolithicMax: MIN_CHUNK_SIZE, chunkSize: MIN_CHUNK_SIZE },
    );

    expect(dst.blobs.get(digest)?.equals(bytes)).toBe(true);
    const patches = dst.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.headers["content-range"])).toEqual([
      `0-${MIN_CHUNK_SIZE - 1}`,
      `${MIN_CHUNK_SIZE}-${2 * MIN_CHUNK_SIZE - 1}`,
      `${2 * MIN_CHUNK_SIZE}-${2 * MIN_CHUNK_SIZE + 122}`,
    ]);
    const close = dst.requests.at(-1);
    expect(close?.method).toBe("PUT");
    expect(close?.path).toContain(`digest=${encodeURIComponent(digest)}`);
  });

  it.each([
    ["monolithic", { monolithicMax: 64 * MiB, chunkSize: MIN_CHUNK_SIZE }],
    ["chunked", { monolithicMax: MIN_CHUNK_SIZE, chunkSize: MIN_CHUNK_SIZE }],
  ])(
    "abandons a %s upload of bytes with the wrong digest: the destination never holds them",
    async (_, sizes) => {
      const { src, dst, srcT, dstT } = world();
      const good = randomBytes(MIN_CHUNK_SIZE + 10);
      const bad = Buffer.from(good);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
      const digest = sha256Digest(good);
      src.blobs.set(digest, bad);
      src.repo("a").blobs.add(digest);
      const location = await startUpload(dstT, "b");

      const error = await streamBlob(
        { transport: srcT, repository: "a" },
        { transport: dstT, repository: "b", location },
        { digest, size: good.length },
        sizes,
      ).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(BlobVerificationError);
      expect(error).toMatchObject({ truncated: false, digest });
      expect(dst.blobs.size).toBe(0);
      expect(dst.repo("b").blobs.size).toBe(0);
      // The request carrying the bytes was cut short, so the registry never saw a complete body.
      await vi.waitFor(() => expect(dst.requests.at(-1)?.aborted).toBe(true));
      expect(dst.requests.filter((r) => r.method === "PUT" && !r.aborted)).toEqual([]);
    },
  );

  it("reports a source that sends more than the descriptor (no Content-Length) as a verification failure, not as the source's network error", async () => {
    const { dst, dstT } = world();
    // A source that streams 3 MiB, chunked, for a blob whose descriptor says 1 MiB.
    const long = randomBytes(3 * MiB);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      let at = 0;
      const more = () => {
        while (at < long.length) {
          const piece = long.subarray(at, at + 64 * 1024);
          at += piece.length;
          if (!res.write(piece)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const srcT = new RegistryTransport({ registry: host, insecure: true, sleep: async () => undefined });
    try {
      const location = await startUpload(dstT, "b");
      const error = await streamBlob(
        { transport: srcT, repository: "a" },
        { transport: dstT, repository: "b", location },
        { digest: sha256Digest(long.subarray(0, MiB)), size: MiB },
        { monolithicMax: 64 * MiB, chunkSize: MIN_CHUNK_SIZE },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(BlobVerificationError);
      expect(error).toMatchObject({ truncated: false });
      expect((error as Error).message).toContain("is longer than its descriptor says");
      expect(dst.blobs.size).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses a source whose Content-Length differs from the descriptor before uploading anything", async () => {
    const { src, dst, srcT, dstT } = world();
    const bytes = randomBytes(100);
    const digest = src.addBlob("a", bytes);

    const error = await streamBlob(
      { transport: srcT, repository: "a" },
      { transport: dstT, repository: "b", location: "https://dst.test/v2/b/blobs/uploads/x" },
      { digest, size: 200 },
      { monolithicMax: MiB, chunkSize: MIN_CHUNK_SIZE },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toMatchObject({ name: "BlobVerificationFailed", truncated: true });
    expect(dst.requests).toEqual([]);
  });
});
