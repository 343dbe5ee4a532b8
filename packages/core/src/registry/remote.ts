import { repositoryScope } from "./challenge.ts";
import { RegistryError, UnsupportedManifestError } from "./errors.ts";
import { MANIFEST_ACCEPT, sha256Digest } from "./manifest.ts";
import type { RegistryResponse } from "./roundtrip.ts";
import type { RegistryTransport, RequestBody } from "./transport.ts";

/**
 * Repository-level calls of the OCI distribution API (spec: opencontainers/distribution-spec
 * `spec.md`), one function per endpoint, on top of a `RegistryTransport`.
 */

export interface ManifestHead {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

const pull = (repo: string) => [repositoryScope(repo, "pull")];
const push = (repo: string) => [repositoryScope(repo, "pull,push")];

async function readAll(response: RegistryResponse, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.body.destroy();
      throw new UnsupportedManifestError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** HEAD or GET a manifest in every type we copy; a 404 is an answer, not an error. */
function sendManifestRequest(
  t: RegistryTransport,
  method: "HEAD" | "GET",
  repo: string,
  ref: string,
  signal: AbortSignal | undefined,
): Promise<RegistryResponse> {
  return t.send({
    method,
    url: `/v2/${repo}/manifests/${ref}`,
    scopes: pull(repo),
    headers: { accept: MANIFEST_ACCEPT },
    expect: [200, 404],
    what: `${method} manifest ${repo}:${ref}`,
    ...(signal ? { signal } : {}),
  });
}

/** HEAD a manifest; `undefined` when the tag or digest does not exist (404). */
export async function headManifest(
  t: RegistryTransport,
  repo: string,
  ref: string,
  signal?: AbortSignal,
): Promise<ManifestHead | undefined> {
  const response = await sendManifestRequest(t, "HEAD", repo, ref, signal);
  await response.dump();
  if (response.status === 404) return undefined;
  const digest = response.headers["docker-content-digest"];
  if (!digest) {
    // Some registries omit the header on HEAD: fall back to reading the manifest.
    const fetched = await getManifest(t, repo, ref, signal);
    return fetched && { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length };
  }
  return {
    digest,
    mediaType: response.headers["content-type"] ?? "",
    size: Number(response.headers["content-length"] ?? 0),
  };
}

/**
 * GET a manifest's exact bytes; `undefined` on 404. When `ref` is a digest, the bytes are checked
 * against it, so a registry (or a proxy) cannot hand us something else.
 */
export async function getManifest(
  t: RegistryTransport,
  repo: string,
  ref: string,
  signal?: AbortSignal,
): Promise<FetchedManifest | undefined> {
  const what = `GET manifest ${repo}:${ref}`;
  const response = await sendManifestRequest(t, "GET", repo, ref, signal);
  if (response.status === 404) {
    await response.dump();
    return undefined;
  }
  const bytes = await readAll(response, 4 * 1024 * 1024, `${what} at ${t.registry}`);
  const digest = sha256Digest(bytes);
  if (ref.startsWith("sha256:") && ref !== digest) {
    throw new RegistryError(
      `${what} at ${t.registry}: the bytes have digest ${digest}, not the one asked for`,
      {
        status: response.status,
        registryCode: "DIGEST_MISMATCH",
        temporary: false,
      },
    );
  }
  const contentType = response.headers["content-type"]?.split(";")[0]?.trim() ?? "";
  let mediaType = contentType;
  try {
    const declared = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
    if (typeof declared === "string") mediaType = declared;
  } catch {
    // parseManifest reports invalid JSON with context.
  }
  return { bytes, mediaType, digest };
}

/** PUT the exact manifest bytes under a tag or digest. Returns the digest the registry reports. */
export async function putManifest(
  t: RegistryTransport,
  repo: string,
  ref: string,
  manifest: { bytes: Buffer; mediaType: string },
  signal?: AbortSignal,
): Promise<string> {
  const response = await t.send({
    method: "PUT",
    url: `/v2/${repo}/manifests/${ref}`,
    scopes: push(repo),
    headers: { "content-type": manifest.mediaType },
    body: manifest.bytes,
    expect: [200, 201, 202],
    what: `PUT manifest ${repo}:${ref}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
  return response.headers["docker-content-digest"] ?? sha256Digest(manifest.bytes);
}

/** Whether a blob exists in a repository (HEAD: 200 yes, 404 no). */
export async function blobExists(
  t: RegistryTransport,
  repo: string,
  digest: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const response = await t.send({
    method: "HEAD",
    url: `/v2/${repo}/blobs/${digest}`,
    scopes: pull(repo),
    expect: [200, 404],
    what: `HEAD blob ${repo}@${digest}`,
    followRedirects: true,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
  return response.status === 200;
}

/** GET a blob as a stream (redirects to storage are followed without our credentials). */
export async function getBlob(
  t: RegistryTransport,
  repo: string,
  digest: string,
  signal?: AbortSignal,
): Promise<RegistryResponse> {
  return t.send({
    method: "GET",
    url: `/v2/${repo}/blobs/${digest}`,
    scopes: pull(repo),
    expect: [200],
    what: `GET blob ${repo}@${digest}`,
    followRedirects: true,
    ...(signal ? { signal } : {}),
  });
}

export type MountResult = { readonly mounted: true } | { readonly mounted: false; readonly location: string };

/**
 * Cross-repository mount (`POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<other>`): 201 means the
 * registry linked the blob; 202 means it could not (or will not) and opened an upload session instead,
 * whose location we use to upload.
 */
export async function mountBlob(
  t: RegistryTransport,
  repo: string,
  digest: string,
  from: string,
  signal?: AbortSignal,
): Promise<MountResult> {
  const response = await t.send({
    method: "POST",
    url: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
    scopes: [...push(repo), ...pull(from)],
    expect: [201, 202],
    what: `Mount blob ${digest} from ${from} into ${repo}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
  if (response.status === 201) return { mounted: true };
  return { mounted: false, location: uploadLocation(t, response, repo) };
}

/** Opens an upload session; returns its absolute location. */
export async function startUpload(t: RegistryTransport, repo: string, signal?: AbortSignal): Promise<string> {
  const response = await t.send({
    method: "POST",
    url: `/v2/${repo}/blobs/uploads/`,
    scopes: push(repo),
    expect: [202],
    what: `Start upload to ${repo}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
  return uploadLocation(t, response, repo);
}

function uploadLocation(t: RegistryTransport, response: RegistryResponse, repo: string): string {
  const location = response.headers.location;
  if (!location) {
    throw new RegistryError(
      `Upload to ${repo} at ${t.registry}: the registry gave no Location for the session`,
      {
        status: response.status,
        registryCode: "NO_LOCATION",
        temporary: true,
      },
    );
  }
  return t.resolve(location);
}

/** `location` with `digest=` added to its query (the session's own query parameters are kept). */
export function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  return url.toString();
}

/** Monolithic upload: the whole blob in the closing PUT. */
export async function putBlob(
  t: RegistryTransport,
  repo: string,
  location: string,
  digest: string,
  size: number,
  body: RequestBody,
  signal?: AbortSignal,
): Promise<void> {
  const response = await t.send({
    method: "PUT",
    url: withDigest(location, digest),
    scopes: push(repo),
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    body,
    expect: [201, 204],
    what: `Upload blob ${digest} to ${repo}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
}

/**
 * One chunk of a chunked upload: `PATCH` with `Content-Range: <start>-<end>` (inclusive). Returns the
 * location for the next request. distribution answers 202; ECR answers 201.
 */
export async function patchChunk(
  t: RegistryTransport,
  repo: string,
  location: string,
  start: number,
  length: number,
  body: RequestBody,
  signal?: AbortSignal,
): Promise<string> {
  const response = await t.send({
    method: "PATCH",
    url: location,
    scopes: push(repo),
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(length),
      "content-range": `${start}-${start + length - 1}`,
    },
    body,
    expect: [201, 202, 204],
    what: `Upload chunk ${start}-${start + length - 1} to ${repo}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
  return response.headers.location ? t.resolve(response.headers.location) : location;
}

/** Closes a chunked upload with `PUT ?digest=` and no body. */
export async function finishUpload(
  t: RegistryTransport,
  repo: string,
  location: string,
  digest: string,
  signal?: AbortSignal,
): Promise<void> {
  const response = await t.send({
    method: "PUT",
    url: withDigest(location, digest),
    scopes: push(repo),
    headers: { "content-length": "0" },
    expect: [201, 204],
    what: `Finish upload of ${digest} to ${repo}`,
    ...(signal ? { signal } : {}),
  });
  await response.dump();
}

/** Abandons an upload session (best effort; registries also expire them). */
export async function cancelUpload(t: RegistryTransport, repo: string, location: string): Promise<void> {
  try {
    const response = await t.send({
      method: "DELETE",
      url: location,
      scopes: push(repo),
      expect: [200, 202, 204, 404],
      what: `Cancel upload to ${repo}`,
    });
    await response.dump();
  } catch {
    // Best effort: the session expires on its own.
  }
}

/** All tags of a repository, following `Link` pagination. */
export async function listTags(t: RegistryTransport, repo: string, signal?: AbortSignal): Promise<string[]> {
  const tags: string[] = [];
  let url: string | undefined = `/v2/${repo}/tags/list?n=1000`;
  while (url) {
    const response = await t.send({
      method: "GET",
      url,
      scopes: pull(repo),
      expect: [200],
      what: `List tags of ${repo}`,
      ...(signal ? { signal } : {}),
    });
    const body = JSON.parse(
      (await readAll(response, 64 * 1024 * 1024, `Tag list of ${repo}`)).toString("utf8"),
    ) as {
      tags?: string[] | null;
    };
    tags.push(...(body.tags ?? []));
    url = nextLink(response.headers.link);
  }
  return tags;
}

/** Repositories of a registry (`/v2/_catalog`), following `Link` pagination. */
export async function listRepositories(t: RegistryTransport, signal?: AbortSignal): Promise<string[]> {
  const repos: string[] = [];
  let url: string | undefined = "/v2/_catalog?n=1000";
  while (url) {
    const response = await t.send({
      method: "GET",
      url,
      scopes: ["registry:catalog:*"],
      expect: [200],
      what: "List repositories",
      ...(signal ? { signal } : {}),
    });
    const body = JSON.parse((await readAll(response, 64 * 1024 * 1024, "Catalog")).toString("utf8")) as {
      repositories?: string[] | null;
    };
    repos.push(...(body.repositories ?? []));
    url = nextLink(response.headers.link);
  }
  return repos;
}

/** The target of a `Link: </v2/...>; rel="next"` header. */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  return m?.[1];
}
