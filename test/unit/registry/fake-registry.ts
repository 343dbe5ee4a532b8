/**
 * An in-memory OCI distribution registry served on a `FakeNetwork`: enough of the API for the
 * copy engine (manifests, blobs, monolithic and chunked uploads, cross-repository mounts, tag lists,
 * the catalog), checking digests and manifest references the way distribution does. Tests look at its
 * end state (what a repository holds) and at the requests it received.
 */
import { randomUUID } from "node:crypto";
import { MediaType, sha256Digest } from "../../../packages/core/src/registry/manifest.ts";
import type { Exchange, FakeNetwork, Reply } from "./fake-network.ts";

interface Repo {
  readonly manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  readonly tags: Map<string, string>;
  readonly blobs: Set<string>;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
export const ociError = (status: number, code: string, message: string): Reply => ({
  status,
  body: JSON.stringify({ errors: [{ code, message }] }),
  headers: { "content-type": "application/json" },
});

export class FakeRegistry {
  /** Every blob the registry stores, by digest (repositories link to them). */
  readonly blobs = new Map<string, Buffer>();
  readonly repos = new Map<string, Repo>();
  /** Answers a request instead of the registry when it returns a reply (fault injection). */
  fault: ((request: Exchange) => Reply | undefined) | undefined;
  private readonly uploads = new Map<string, { repo: string; parts: Buffer[] }>();

  constructor(
    readonly host: string,
    private readonly network: FakeNetwork,
  ) {
    network.route(host, (exchange) => this.fault?.(exchange) ?? this.handle(exchange));
  }

  /** Every request this registry received, in order. */
  get requests(): Exchange[] {
    return this.network.requestsTo(this.host);
  }

  repo(name: string): Repo {
    let repo = this.repos.get(name);
    if (!repo) {
      repo = { manifests: new Map(), tags: new Map(), blobs: new Set() };
      this.repos.set(name, repo);
    }
    return repo;
  }

  /** The digest a tag points at, or `undefined`. */
  tagDigest(repo: string, tag: string): string | undefined {
    return this.repos.get(repo)?.tags.get(tag);
  }

  /** Stores a blob in a repository directly (seeding). */
  addBlob(repo: string, bytes: Buffer): string {
    const digest = sha256Digest(bytes);
    this.blobs.set(digest, bytes);
    this.repo(repo).blobs.add(digest);
    return digest;
  }

  /** Stores a manifest directly (seeding); `ref` is a tag or its digest. */
  addManifest(repo: string, ref: string | undefined, bytes: Buffer, mediaType: string): string {
    const digest = sha256Digest(bytes);
    const r = this.repo(repo);
    r.manifests.set(digest, { bytes, mediaType });
    if (ref && !ref.startsWith("sha256:")) r.tags.set(ref, digest);
    return digest;
  }

  /** Seeds a single-platform OCI image with the given layers; returns its manifest digest. */
  addImage(
    repo: string,
    tag: string,
    layers: readonly Buffer[],
    config: unknown = { architecture: "amd64" },
  ) {
    const configBytes = json(config);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: this.addBlob(repo, configBytes),
        size: configBytes.length,
      },
      layers: layers.map((layer) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: this.addBlob(repo, layer),
        size: layer.length,
      })),
    };
    return this.addManifest(repo, tag, json(manifest), MediaType.ociManifest);
  }

  private handle(request: Exchange): Reply {
    const url = new URL(request.path, `https://${this.host}`);
    const path = url.pathname;
    if (path === "/v2/" || path === "/v2") return { status: 200, body: "{}" };
    if (path === "/v2/_catalog") {
      return { status: 200, body: json({ repositories: [...this.repos.keys()].sort() }) };
    }
    let m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
    if (m) return this.upload(request.method, m[1] as string, m[2] as string, url, request.body);
    m = /^\/v2\/(.+)\/blobs\/(sha\d+:[a-f0-9]+)$/.exec(path);
    if (m) return this.blob(request.method, m[1] as string, m[2] as string);
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) return this.manifest(request, m[1] as string, decodeURIComponent(m[2] as string));
    m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (m) {
      const repo = this.repos.get(m[1] as string);
      if (!repo) return ociError(404, "NAME_UNKNOWN", "repository name not known to registry");
      return { status: 200, body: json({ name: m[1], tags: [...repo.tags.keys()].sort() }) };
    }
    return ociError(404, "NOT_FOUND", `no route for ${request.method} ${path}`);
  }

  private blob(method: string, name: string, digest: string): Reply {
    const repo = this.repos.get(name);
    const bytes = this.blobs.get(digest);
    if (!repo?.blobs.has(digest) || !bytes) return ociError(404, "BLOB_UNKNOWN", "blob unknown to registry");
    if (method !== "GET" && method !== "HEAD") return ociError(405, "UNSUPPORTED", "method");
    return {
      status: 200,
      body: bytes,
      headers: {
        "content-length": String(bytes.length),
        "docker-content-digest": digest,
        "content-type": "application/octet-stream",
      },
    };
  }

  private manifest(request: Exchange, name: string, ref: string): Reply {
    if (request.method === "PUT") {
      const bytes = request.body;
      const mediaType = request.headers["content-type"] ?? "";
      const digest = sha256Digest(bytes);
      if (ref.startsWith("sha256:") && ref !== digest) {
        return ociError(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
      }
      const parsed = JSON.parse(bytes.toString("utf8")) as {
        config?: { digest: string };
        layers?: { digest: string }[];
        manifests?: { digest: string }[];
      };
      const repo = this.repo(name);
      for (const blob of [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])]) {
        if (!repo.blobs.has(blob.digest)) return ociError(400, "MANIFEST_BLOB_UNKNOWN", blob.digest);
      }
      for (const child of parsed.manifests ?? []) {
        if (!repo.manifests.has(child.digest)) return ociError(400, "MANIFEST_UNKNOWN", child.digest);
      }
      this.addManifest(name, ref, bytes, mediaType);
      return {
        status: 201,
        headers: { location: `/v2/${name}/manifests/${digest}`, "docker-content-digest": digest },
      };
    }
    const repo = this.repos.get(name);
    const digest = ref.startsWith("sha256:") ? ref : repo?.tags.get(ref);
    const manifest = digest ? repo?.manifests.get(digest) : undefined;
    if (!manifest || !digest) return ociError(404, "MANIFEST_UNKNOWN", "manifest unknown");
    return {
      status: 200,
      body: manifest.bytes,
      headers: {
        "content-type": manifest.mediaType,
        "content-length": String(manifest.bytes.length),
        "docker-content-digest": digest,
      },
    };
  }

  private upload(method: string, name: string, id: string, url: URL, bytes: Buffer): Reply {
    if (method === "POST" && id === "") {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount && from && this.repos.get(from)?.blobs.has(mount)) {
        this.repo(name).blobs.add(mount);
        return {
          status: 201,
          headers: { location: `/v2/${name}/blobs/${mount}`, "docker-content-digest": mount },
        };
      }
      const session = randomUUID();
      this.uploads.set(session, { repo: name, parts: [] });
      return {
        status: 202,
        headers: { location: `/v2/${name}/blobs/uploads/${session}?_state=s1`, range: "0-0" },
      };
    }
    const upload = this.uploads.get(id);
    if (!upload || upload.repo !== name) return ociError(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    if (method === "DELETE") {
      this.uploads.delete(id);
      return { status: 204 };
    }
    upload.parts.push(bytes);
    const size = upload.parts.reduce((n, p) => n + p.length, 0);
    if (method === "PATCH") {
      return {
        status: 202,
        headers: {
          location: `/v2/${name}/blobs/uploads/${id}?_state=s${upload.parts.length + 1}`,
          range: `0-${size - 1}`,
        },
      };
    }
    if (method === "PUT") {
      const expected = url.searchParams.get("digest");
      const blob = Buffer.concat(upload.parts);
      this.uploads.delete(id);
      if (!expected || sha256Digest(blob) !== expected) {
        return ociError(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
      }
      this.blobs.set(expected, blob);
      this.repo(name).blobs.add(expected);
      return {
        status: 201,
        headers: { location: `/v2/${name}/blobs/${expected}`, "docker-content-digest": expected },
      };
    }
    return ociError(405, "UNSUPPORTED", "method");
  }
}
