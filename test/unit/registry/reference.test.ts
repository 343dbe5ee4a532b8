import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidReferenceError } from "../../../packages/core/src/registry/errors.ts";
import {
  DOCKER_HUB,
  ecrRegistry,
  formatReference,
  parseReference,
  parseRegistryHost,
  type Reference,
  referenceTarget,
} from "../../../packages/core/src/registry/reference.ts";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/** Runs `parseReference` and returns the InvalidReferenceError it throws; fails the test otherwise. */
function referenceError(input: string): InvalidReferenceError {
  try {
    parseReference(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidReferenceError);
    return error as InvalidReferenceError;
  }
  throw new Error(`parseReference accepted "${input}"`);
}

describe("parseReference", () => {
  it.each<[string, Reference]>([
    ["ubuntu", { registry: DOCKER_HUB, repository: "library/ubuntu", tag: "latest" }],
    ["docker.io/ubuntu:22.04", { registry: DOCKER_HUB, repository: "library/ubuntu", tag: "22.04" }],
    ["index.docker.io/x/y", { registry: DOCKER_HUB, repository: "x/y", tag: "latest" }],
    [
      "gitpod/workspace-full:2024-01-01",
      { registry: DOCKER_HUB, repository: "gitpod/workspace-full", tag: "2024-01-01" },
    ],
    ["localhost:5000/a/b:t", { registry: "localhost:5000", repository: "a/b", tag: "t" }],
    ["localhost/a", { registry: "localhost", repository: "a", tag: "latest" }],
    [`127.0.0.1:5000/a@${DIGEST}`, { registry: "127.0.0.1:5000", repository: "a", digest: DIGEST }],
    [
      `reg.example.com/a/b:t@${DIGEST}`,
      { registry: "reg.example.com", repository: "a/b", tag: "t", digest: DIGEST },
    ],
    ["[::1]:5000/a:t", { registry: "[::1]:5000", repository: "a", tag: "t" }],
    [`${ECR}/gitpod/server:1`, { registry: ECR, repository: "gitpod/server", tag: "1" }],
    [
      "reg.example.com/a__b/c-d--e/f.g_h:_T.1-x",
      { registry: "reg.example.com", repository: "a__b/c-d--e/f.g_h", tag: "_T.1-x" },
    ],
    ["  reg.example.com/a:t  ", { registry: "reg.example.com", repository: "a", tag: "t" }],
    [
      `reg.example.com/a:${"t".repeat(128)}`,
      { registry: "reg.example.com", repository: "a", tag: "t".repeat(128) },
    ],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it("leaves the tag out when no default is wanted", () => {
    expect(parseReference("reg.example.com/a", { defaultTag: undefined })).toEqual({
      registry: "reg.example.com",
      repository: "a",
    });
  });

  it.each<[string, string, InvalidReferenceError["part"]]>([
    ["upper-case repository", "reg.example.com/Gitpod/server", "repository"],
    ["upper-case Docker Hub name", "Ubuntu", "repository"],
    ["empty", "", "reference"],
    ["only spaces", "   ", "reference"],
    ["a scheme", "https://x/y", "registry"],
    ["a tag starting with -", "ubuntu:-x", "tag"],
    ["an empty tag", "ubuntu:", "tag"],
    ["a tag of 129 characters", `ubuntu:${"a".repeat(129)}`, "tag"],
    ["a short digest", "ubuntu@sha256:abc", "digest"],
    ["an upper-case digest", `ubuntu@sha256:${"0123456789ABCDEF".repeat(4)}`, "digest"],
    ["an unknown digest algorithm", `ubuntu@md5:${"a".repeat(32)}`, "digest"],
    ["port 70000", "localhost:70000/a", "registry"],
    ["port 0", "localhost:0/a", "registry"],
    ["an IPv6 registry's port 70000", "[::1]:70000/a", "registry"],
    ["a port that is not a number", "reg.example.com:http/a", "registry"],
    ["a host label ending in -", "bad-.example.com/a", "registry"],
    ["a doubled slash", "a//b", "repository"],
    ["a trailing slash", "reg.example.com/a/b/", "repository"],
    ["a registry without repository", "reg.example.com/", "repository"],
    ["inner whitespace", "ubuntu latest", "reference"],
    ["a tab", "reg.example.com/a\tb", "reference"],
    ["a name over 255 characters", `reg.example.com/${"a".repeat(250)}`, "repository"],
  ])("rejects %s, naming the part", (_, input, part) => {
    const error = referenceError(input);

    expect(error.name).toBe("InvalidReference");
    expect(error.part).toBe(part);
    expect(error.reference).toBe(input);
    expect(error.message).toContain(`"${input}"`);
  });
});

describe("parseRegistryHost", () => {
  it("canonicalises Docker Hub's aliases and keeps ports", () => {
    expect(parseRegistryHost("docker.io")).toBe(DOCKER_HUB);
    expect(parseRegistryHost("index.docker.io")).toBe(DOCKER_HUB);
    expect(parseRegistryHost(" 127.0.0.1:5000 ")).toBe("127.0.0.1:5000");
    expect(parseRegistryHost(ECR)).toBe(ECR);
  });

  it("rejects a bad port and a bad host with part registry", () => {
    expect(() => parseRegistryHost("reg.example.com:99999")).toThrow(
      expect.objectContaining({ name: "InvalidReference", part: "registry" }),
    );
    expect(() => parseRegistryHost("under_score.example.com")).toThrow(
      expect.objectContaining({ name: "InvalidReference", part: "registry" }),
    );
  });

  it("rejects a registry given as a URL, saying to leave the scheme out", () => {
    expect(() => parseRegistryHost("https://quay.io")).toThrow(
      expect.objectContaining({
        name: "InvalidReference",
        part: "registry",
        message: expect.stringContaining("without a scheme"),
      }),
    );
  });
});

describe("referenceTarget", () => {
  it("prefers the digest, falls back to the tag, and refuses a reference with neither", () => {
    expect(referenceTarget(parseReference(`reg.example.com/a:t@${DIGEST}`))).toBe(DIGEST);
    expect(referenceTarget(parseReference("reg.example.com/a:t"))).toBe("t");
    expect(() => referenceTarget({ registry: "reg.example.com", repository: "a" })).toThrow(
      expect.objectContaining({ part: "tag" }),
    );
  });
});

describe("ecrRegistry", () => {
  it.each<[string, { account: string; region: string } | undefined]>([
    [ECR, { account: "123456789012", region: "eu-west-1" }],
    ["123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", { account: "123456789012", region: "cn-north-1" }],
    ["123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", { account: "123456789012", region: "us-east-1" }],
    [
      "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
      { account: "123456789012", region: "us-gov-west-1" },
    ],
    [DOCKER_HUB, undefined],
    ["public.ecr.aws", undefined],
    ["12345678901.dkr.ecr.eu-west-1.amazonaws.com", undefined],
    [`${ECR}.evil.example.com`, undefined],
    [`${ECR}:443`, undefined],
    ["localhost:5000", undefined],
  ])("%s", (host, expected) => {
    expect(ecrRegistry(host)).toEqual(expected);
  });

  it("gives the account and region of a parsed ECR reference's registry", () => {
    const ref = parseReference(`${ECR}/gitpod/server:1`);

    expect(ecrRegistry(ref.registry)).toEqual({ account: "123456789012", region: "eu-west-1" });
  });
});

describe("formatReference and parseReference round-trip", () => {
  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
  const registry = fc
    .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65_535 })))
    .map(([labels, port]) => `${[...labels, "test"].join(".")}${port === null ? "" : `:${port}`}`);
  const component = fc.stringMatching(/^[a-z0-9]{1,5}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,5}){0,2}$/);
  const repository = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join("/"));
  const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
  const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`);

  it("formats a parsed canonical reference back to the same text", () => {
    fc.assert(
      fc.property(registry, repository, fc.option(tag), fc.option(digest), (reg, repo, t, d) => {
        fc.pre(t !== null || d !== null);
        const text = `${reg}/${repo}${t === null ? "" : `:${t}`}${d === null ? "" : `@${d}`}`;

        const parsed = parseReference(text);

        expect(parsed).toEqual({
          registry: reg,
          repository: repo,
          ...(t === null ? {} : { tag: t }),
          ...(d === null ? {} : { digest: d }),
        });
        expect(formatReference(parsed)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("is a fixpoint for Docker Hub short names: parse ∘ format ∘ parse = parse", () => {
    // Without a registry, a first component holding "." would name a registry (the Docker rule).
    const first = fc.stringMatching(/^[a-z0-9]{1,5}(?:(?:_|__|-{1,2})[a-z0-9]{1,5}){0,2}$/);
    const hub = fc
      .tuple(
        fc.constantFrom("", "docker.io/", "index.docker.io/", `${DOCKER_HUB}/`),
        first,
        fc.array(component, { maxLength: 2 }),
        fc.option(tag),
      )
      .map(([prefix, head, rest, t]) => `${prefix}${[head, ...rest].join("/")}${t === null ? "" : `:${t}`}`);
    fc.assert(
      fc.property(hub, (text) => {
        const parsed = parseReference(text);

        expect(parsed.registry).toBe(DOCKER_HUB);
        expect(parseReference(formatReference(parsed))).toEqual(parsed);
      }),
      { numRuns: 200 },
    );
  });
});
