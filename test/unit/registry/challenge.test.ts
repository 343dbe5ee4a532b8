import { describe, expect, it } from "vitest";
import {
  type Challenge,
  mergeScopes,
  parseChallenge,
  repositoryScope,
} from "../../../packages/core/src/registry/challenge.ts";

describe("parseChallenge", () => {
  it.each<[string, string | undefined, Challenge | undefined]>([
    [
      "Docker Hub's Bearer challenge",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/ubuntu:pull",
        },
      },
    ],
    [
      "ECR's Basic challenge",
      'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"',
      {
        scheme: "basic",
        params: {
          realm: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
          service: "ecr.amazonaws.com",
        },
      },
    ],
    [
      "escaped quotes and commas inside quoted values",
      'Bearer realm="https://a.test/t?x=1,y=2",error="invalid_token",error_description="the \\"token\\", it expired"',
      {
        scheme: "bearer",
        params: {
          realm: "https://a.test/t?x=1,y=2",
          error: "invalid_token",
          error_description: 'the "token", it expired',
        },
      },
    ],
    [
      "a scope with several actions, comma inside the quotes",
      'Bearer realm="https://a.test/t",scope="repository:a/b:pull,push"',
      { scheme: "bearer", params: { realm: "https://a.test/t", scope: "repository:a/b:pull,push" } },
    ],
    [
      "unquoted values and spaces around separators",
      "Bearer realm = https://a.test/token , service=reg.test",
      { scheme: "bearer", params: { realm: "https://a.test/token", service: "reg.test" } },
    ],
    [
      "the scheme and parameter names in any case",
      'BEARER Realm="https://a.test/token",SERVICE="reg.test"',
      { scheme: "bearer", params: { realm: "https://a.test/token", service: "reg.test" } },
    ],
    [
      "only the first of several challenges",
      'Bearer realm="https://a.test/token", Basic realm="https://b.test"',
      { scheme: "bearer", params: { realm: "https://a.test/token" } },
    ],
    ["a scheme without parameters", "Basic", { scheme: "basic", params: {} }],
    [
      "an unknown scheme, lower-cased",
      'Negotiate realm="x"',
      { scheme: "negotiate", params: { realm: "x" } },
    ],
    ["undefined", undefined, undefined],
    ["empty", "", undefined],
    ["whitespace", "   ", undefined],
    ["garbage that is no scheme", '="x", 123', undefined],
    ["a quote first", '"Bearer" realm="x"', undefined],
  ])("%s", (_, header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
});

describe("repositoryScope", () => {
  it("names the repository and actions as the token server expects", () => {
    expect(repositoryScope("gitpod/server", "pull")).toBe("repository:gitpod/server:pull");
    expect(repositoryScope("gitpod/server", "pull,push")).toBe("repository:gitpod/server:pull,push");
  });
});

describe("mergeScopes", () => {
  it("unites the actions of one resource, sorted, and sorts resources", () => {
    expect(mergeScopes(["repository:b:push", "repository:a:pull", "repository:b:pull"])).toEqual([
      "repository:a:pull",
      "repository:b:pull,push",
    ]);
  });

  it("splits space-separated scopes, drops duplicates and keeps resources without actions", () => {
    expect(
      mergeScopes([
        "repository:a:pull repository:a:pull,push",
        "",
        "registry:catalog:*",
        "plain",
        "repository:localhost:5000/x:pull",
      ]),
    ).toEqual(["plain", "registry:catalog:*", "repository:a:pull,push", "repository:localhost:5000/x:pull"]);
  });

  it("gives the same key whatever the order of its input", () => {
    const scopes = ["repository:x:push", "repository:y:pull", "repository:x:pull"];

    expect(mergeScopes(scopes)).toEqual(mergeScopes([...scopes].reverse()));
    expect(mergeScopes([])).toEqual([]);
  });
});
