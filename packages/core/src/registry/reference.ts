import { InvalidReferenceError } from "./errors.ts";

/**
 * Image references, parsed the way `distribution/reference` and go-containerregistry's `pkg/name` do:
 * pure functions, no I/O.
 */

/** Docker Hub's API host: `docker.io` and `index.docker.io` are names for it, not API endpoints. */
export const DOCKER_HUB = "registry-1.docker.io";

export interface Reference {
  /** Registry host, with port when one was given (`127.0.0.1:5000`). */
  readonly registry: string;
  /** Repository path inside the registry (`library/ubuntu`, `gitpod/workspace-full`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export interface EcrRegistry {
  readonly account: string;
  readonly region: string;
}

// distribution/reference grammar.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^(\[[a-fA-F0-9:]+\])(?::(\d{1,5}))?$/;
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/;
const MAX_NAME = 255;

/**
 * Parses `[registry/]repository[:tag][@digest]`.
 *
 * The first path component is a registry when it contains `.` or `:` or is `localhost` (the Docker
 * rule); otherwise the image is on Docker Hub, and a one-component name gets `library/`. With neither
 * tag nor digest, `defaultTag` applies (pass `undefined` to leave the reference without one).
 *
 * @throws InvalidReferenceError naming the part that is wrong.
 */
export function parseReference(
  input: string,
  options: { defaultTag?: string | undefined } = { defaultTag: "latest" },
) {
  const text = input.trim();
  const fail = (part: InvalidReferenceError["part"], why: string): never => {
    throw new InvalidReferenceError(`Invalid image reference "${input}": ${why}`, input, part);
  };
  if (text === "") fail("reference", "it is empty");
  if (/\s/.test(text)) fail("reference", "it contains whitespace");
  if (text.includes("://"))
    fail("registry", "give the registry as a host name, without a scheme (no https://)");

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      fail("digest", `the digest "${digest}" is not sha256:<64 hex digits> (or sha512:<128>) in lower case`);
    }
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = first;
      path = rest.slice(slash + 1);
      checkRegistry(first, fail);
    }
  }
  if (registry === "docker.io" || registry === "index.docker.io") registry = DOCKER_HUB;

  let tag: string | undefined;
  const lastSlash = path.lastIndexOf("/");
  const colon = path.indexOf(":", lastSlash + 1);
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) {
      fail(
        "tag",
        `the tag "${tag}" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
      );
    }
  }
  if (path === "") fail("repository", "the repository name is missing");
  for (const component of path.split("/")) {
    if (!COMPONENT.test(component)) {
      fail(
        "repository",
        component === ""
          ? "the repository path has an empty component (a doubled or trailing /)"
          : `the repository component "${component}" must be lower-case letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (registry.length + 1 + path.length > MAX_NAME)
    fail("repository", `the name is longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined && options.defaultTag !== undefined) tag = options.defaultTag;
  const reference: Reference = {
    registry,
    repository: path,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
  return reference;
}

function checkRegistry(host: string, fail: (part: "registry", why: string) => never): void {
  if (host.includes("://"))
    fail("registry", "give the registry as a host name, without a scheme (no https://)");
  let name = host;
  let port: string | undefined;
  const v6 = IPV6_HOST.exec(host);
  if (v6) {
    if (v6[2] !== undefined && !(Number(v6[2]) > 0 && Number(v6[2]) < 65536)) {
      fail("registry", `the port "${v6[2]}" of registry "${host}" is not a number from 1 to 65535`);
    }
    return;
  }
  const m = /^(.*?)(?::([^:]*))?$/.exec(host);
  if (m) {
    name = m[1] ?? host;
    port = m[2];
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536)) {
    fail("registry", `the port "${port}" of registry "${host}" is not a number from 1 to 65535`);
  }
  if (name === "" || !name.split(".").every((label) => HOST_LABEL.test(label))) {
    fail("registry", `"${host}" is not a valid host name`);
  }
}

/** Parses a registry host as given in config or on the command line (`host[:port]`). */
export function parseRegistryHost(input: string): string {
  const host = input.trim();
  checkRegistry(host, (part, why) => {
    throw new InvalidReferenceError(`Invalid registry "${input}": ${why}`, input, part);
  });
  return host === "docker.io" || host === "index.docker.io" ? DOCKER_HUB : host;
}

/** The tag or digest a request addresses: the digest when there is one (it is the more precise). */
export function referenceTarget(ref: Reference): string {
  const target = ref.digest ?? ref.tag;
  if (target === undefined)
    throw new InvalidReferenceError(
      `${formatReference(ref)} has neither tag nor digest`,
      formatReference(ref),
      "tag",
    );
  return target;
}

export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Account and region of an ECR private registry host, or `undefined` for any other registry. */
export function ecrRegistry(host: string): EcrRegistry | undefined {
  const m = ECR_HOST.exec(host);
  return m ? { account: m[1] as string, region: m[2] as string } : undefined;
}
