/**
 * The floors beside our figures in bench/copy.ts: the least any Node program does for the same result
 * over the same registries, in its own fresh process, with plain `node:http` and nothing else (no
 * verification, no retries, no auth, no reports). Bundled and run like copy-worker.ts.
 *
 *   node floor-worker.js copy SRC_HOST/REPO:TAG DST_HOST/REPO:TAG
 *       the parallel GET→PUT bound: each blob's GET piped into a monolithic PUT, 6 at a time (as
 *       skopeo and gitpod-dr), in 1 MiB writes (as gitpod-dr: fewer writes, less CPU), then the
 *       manifest; no verification and no existence checks (HEADs); a single-platform image only
 *   node floor-worker.js heads SRC_HOST REPO DST_HOST
 *       a warm re-sync's requests: the tag list, then each tag's manifest HEAD at both registries,
 *       8 tags at a time (as gitpod-dr), failing if a digest differs
 */
import http from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Passes bytes on in batches of about 1 MiB, as gitpod-dr's verifying stream does (without the hash). */
class Batches extends Transform {
  private held: Buffer[] = [];
  private bytes = 0;
  override _transform(piece: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.bytes + piece.length > 1024 * 1024 && this.bytes > 0) this.release();
    this.held.push(piece);
    this.bytes += piece.length;
    done();
  }
  override _flush(done: TransformCallback): void {
    if (this.bytes > 0) this.release();
    done();
  }
  private release(): void {
    this.push(Buffer.concat(this.held, this.bytes));
    this.held = [];
    this.bytes = 0;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const MANIFESTS =
  "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: NodeJS.ReadableStream | Buffer,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers });
    req.on("response", resolve);
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else pipeline(body, new Batches(), req).catch(reject);
  });
}

async function read(res: http.IncomingMessage, ok: number[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  if (!ok.includes(res.statusCode ?? 0)) throw new Error(`${res.statusCode}: ${Buffer.concat(parts)}`);
  return Buffer.concat(parts);
}

/** "host:port/repo:tag" → its parts. */
function parse(ref: string) {
  const slash = ref.indexOf("/");
  const colon = ref.lastIndexOf(":");
  return { host: ref.slice(0, slash), repo: ref.slice(slash + 1, colon), tag: ref.slice(colon + 1) };
}

async function copy(from: string, to: string): Promise<void> {
  const src = parse(from);
  const dst = parse(to);
  const got = await request("GET", `http://${src.host}/v2/${src.repo}/manifests/${src.tag}`, {
    accept: MANIFESTS,
  });
  const type = got.headers["content-type"] as string;
  const bytes = await read(got, [200]);
  const manifest = JSON.parse(bytes.toString()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const blobs = [manifest.config, ...manifest.layers];
  let next = 0;
  const worker = async () => {
    for (let blob = blobs[next++]; blob; blob = blobs[next++]) {
      const post = await request("POST", `http://${dst.host}/v2/${dst.repo}/blobs/uploads/`);
      await read(post, [202]);
      const location = new URL(post.headers.location as string, `http://${dst.host}`);
      location.searchParams.set("digest", blob.digest);
      const body = await request("GET", `http://${src.host}/v2/${src.repo}/blobs/${blob.digest}`);
      if (body.statusCode !== 200) throw new Error(`GET blob ${blob.digest}: ${body.statusCode}`);
      const put = await request(
        "PUT",
        location.toString(),
        { "content-type": "application/octet-stream", "content-length": String(blob.size) },
        body,
      );
      await read(put, [201]);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  const put = await request(
    "PUT",
    `http://${dst.host}/v2/${dst.repo}/manifests/${dst.tag}`,
    { "content-type": type },
    bytes,
  );
  await read(put, [201]);
}

async function heads(source: string, repo: string, destination: string): Promise<void> {
  const listed = await read(await request("GET", `http://${source}/v2/${repo}/tags/list`), [200]);
  const tags = (JSON.parse(listed.toString()) as { tags: string[] }).tags;
  const digest = async (host: string, tag: string) => {
    const res = await request("HEAD", `http://${host}/v2/${repo}/manifests/${tag}`, { accept: MANIFESTS });
    await read(res, [200]);
    return res.headers["docker-content-digest"];
  };
  let next = 0;
  const worker = async () => {
    for (let tag = tags[next++]; tag; tag = tags[next++]) {
      const [a, b] = await Promise.all([digest(source, tag), digest(destination, tag)]);
      if (a !== b) throw new Error(`${repo}:${tag} differs`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === "copy") await copy(a as string, b as string);
else if (mode === "heads") await heads(a as string, b as string, c as string);
else throw new Error(`unknown mode ${mode}`);
process.exit(0);
