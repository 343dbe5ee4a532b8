/**
 * The copy engine against a real registry with Docker token auth (`auth.token`) and the test token
 * server: credentials are exchanged for tokens with exactly the scopes each step needs (pull and push on
 * the destination, pull on a mount's source repository), wrong credentials fail by name without leaking
 * the password, and anonymous pull works where the token server allows it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticCredentials } from "../../packages/core/src/registry/auth.ts";
import { CopySession } from "../../packages/core/src/registry/copy.ts";
import { parseReference } from "../../packages/core/src/registry/reference.ts";
import {
  blobExists,
  getManifest,
  manifestDigest,
  type PushedImage,
  pushImage,
  pushMultiPlatform,
  type RequestOptions,
  randomLayer,
} from "../../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../../packages/sim/src/registry/server.ts";
import {
  type IssuedToken,
  startTokenServer,
  type TokenServer,
} from "../../packages/sim/src/registry/token.ts";
import { engineTransports, incompleteManifests, noSleep } from "../fixtures/registry/engine.ts";

const USER = "alice";
const PASSWORD = "s3cret-Pa55word";
const WRONG = "not-the-Pa55word";

async function tokenRegistry(opts: { anonymousPull?: boolean } = {}) {
  const tokens = await startTokenServer({ users: { [USER]: PASSWORD }, ...opts });
  const registry = await startRegistry({
    token: {
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.rootCertBundle,
    },
  });
  return { tokens, registry };
}

/** Fixture access to a token registry: a token minted directly with pull (and push) on `repos`. */
function as(tokens: TokenServer, repos: string[], actions = ["pull", "push"]): RequestOptions {
  return {
    authorization: `Bearer ${tokens.mint(repos.map((name) => ({ type: "repository", name, actions })))}`,
  };
}

const granted = (issued: IssuedToken[]) =>
  issued.map((t) => ({
    account: t.account,
    access: t.access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).sort(),
  }));

describe("copy engine with token auth", () => {
  let plain: RegistryServer;
  let secure: { tokens: TokenServer; registry: RegistryServer };
  let open: { tokens: TokenServer; registry: RegistryServer };
  let app: PushedImage;
  let multi: { index: PushedImage; children: PushedImage[] };
  let pub: PushedImage;

  const session = (providers: Record<string, ReturnType<typeof staticCredentials>> = {}) =>
    new CopySession(
      engineTransports({ insecure: [plain.host, secure.registry.host, open.registry.host], providers }),
      { concurrency: 4, sleep: noSleep },
    );
  const ref = (registry: RegistryServer, path: string) => parseReference(`${registry.host}/${path}`);

  beforeAll(async () => {
    [plain, secure, open] = await Promise.all([
      startRegistry(),
      tokenRegistry(),
      tokenRegistry({ anonymousPull: true }),
    ]);
    app = await pushImage(plain.host, "src/app", "v1", {
      layers: [randomLayer(32 * 1024, { seed: 70 }), randomLayer(4096, { seed: 71 })],
    });
    multi = await pushMultiPlatform(
      plain.host,
      "src/multi",
      "v1",
      [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      { layerSize: 8 * 1024, seed: 72 },
    );
    pub = await pushImage(open.registry.host, "pub/app", "v1", {
      layers: [randomLayer(16 * 1024, { seed: 73 })],
      ...as(open.tokens, ["pub/app"]),
    });
    // Fixture traffic is not the engine's: forget its tokens.
    secure.tokens.issued.length = 0;
    open.tokens.issued.length = 0;
  });

  afterAll(async () => {
    await Promise.all([plain?.stop(), secure?.registry.stop(), open?.registry.stop()]);
    await Promise.all([secure?.tokens.stop(), open?.tokens.stop()]);
  });

  it("copies into the token registry with credentials: one pull,push token for the destination repository", async () => {
    const report = await session({ [secure.registry.host]: staticCredentials(USER, PASSWORD) }).copyImage(
      ref(plain, "src/app:v1"),
      ref(secure.registry, "secure/app:v1"),
    );
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: app.digest, blobsCopied: app.blobs.length });

    const auth = as(secure.tokens, ["secure/app"], ["pull"]);
    expect(await manifestDigest(secure.registry.host, "secure/app", "v1", auth)).toBe(app.digest);
    expect((await getManifest(secure.registry.host, "secure/app", "v1", auth)).bytes).toEqual(app.manifest);
    for (const blob of app.blobs) {
      expect(await blobExists(secure.registry.host, "secure/app", blob.digest, auth)).toBe(true);
    }
    const issued = granted(secure.tokens.issued);
    expect(issued.every((t) => t.account === USER)).toBe(true);
    expect(issued.some((t) => t.access.includes("repository:secure/app:pull,push"))).toBe(true);
    // Only the destination repository was asked for: never another repository, never the catalog.
    expect(new Set(issued.flatMap((t) => t.access))).toEqual(
      new Set(issued.flatMap((t) => t.access).filter((a) => a.startsWith("repository:secure/app:"))),
    );
    // Tokens are cached: a handful, not one per request.
    expect(secure.tokens.issued.length).toBeLessThanOrEqual(3);
  });

  it("copies an index into the token registry", async () => {
    const report = await session({ [secure.registry.host]: staticCredentials(USER, PASSWORD) }).copyImage(
      ref(plain, "src/multi:v1"),
      ref(secure.registry, "secure/multi:v1"),
    );
    expect(report).toMatchObject({ status: "copied", digest: multi.index.digest, manifestsPushed: 3 });
    const auth = as(secure.tokens, ["secure/multi"], ["pull"]);
    for (const child of multi.children) {
      expect(await manifestDigest(secure.registry.host, "secure/multi", child.digest, auth)).toBe(
        child.digest,
      );
    }
  });

  it("copies out of the token registry with a pull token", async () => {
    secure.tokens.issued.length = 0;
    const report = await session({ [secure.registry.host]: staticCredentials(USER, PASSWORD) }).copyImage(
      ref(secure.registry, "secure/app:v1"),
      ref(plain, "back/app:v1"),
    );
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: app.digest });
    expect(await manifestDigest(plain.host, "back/app", "v1")).toBe(app.digest);
    expect(granted(secure.tokens.issued)).toEqual([
      { account: USER, access: ["repository:secure/app:pull"] },
    ]);
  });

  it("mounts within the token registry with a token for push on the target and pull on the source", async () => {
    secure.tokens.issued.length = 0;
    const report = await session({ [secure.registry.host]: staticCredentials(USER, PASSWORD) }).copyImage(
      ref(secure.registry, "secure/app:v1"),
      ref(secure.registry, "secure/mounted:v1"),
    );
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({
      status: "copied",
      digest: app.digest,
      blobsMounted: app.blobs.length,
      blobsCopied: 0,
      bytesMoved: 0,
    });
    const issued = granted(secure.tokens.issued);
    expect(issued).toContainEqual({
      account: USER,
      access: ["repository:secure/app:pull", "repository:secure/mounted:pull,push"],
    });
    const auth = as(secure.tokens, ["secure/mounted"], ["pull"]);
    expect(await manifestDigest(secure.registry.host, "secure/mounted", "v1", auth)).toBe(app.digest);
    for (const blob of app.blobs) {
      expect(await blobExists(secure.registry.host, "secure/mounted", blob.digest, auth)).toBe(true);
    }
  });

  it("fails with a named error on wrong credentials, and never shows the password", async () => {
    const report = await session({ [secure.registry.host]: staticCredentials(USER, WRONG) }).copyImage(
      ref(plain, "src/app:v1"),
      ref(secure.registry, "secure/wrong:v1"),
    );
    expect(report.status).toBe("failed");
    expect(report.error?.name).toMatch(/^(RegistryError|RegistryAuthFailed)$/);
    expect(report.error?.code).toBe("UNAUTHORIZED");
    const text = JSON.stringify(report);
    expect(text).not.toContain(WRONG);
    expect(text).not.toContain(Buffer.from(`${USER}:${WRONG}`).toString("base64"));
    expect(
      await manifestDigest(secure.registry.host, "secure/wrong", "v1", as(secure.tokens, ["secure/wrong"])),
    ).toBe(undefined);
  });

  it("fails with a named error when the registry wants credentials and none are configured", async () => {
    const report = await session().copyImage(
      ref(secure.registry, "secure/app:v1"),
      ref(plain, "anon/app:v1"),
    );
    expect(report.status).toBe("failed");
    expect(report.error?.name).toMatch(/^(RegistryError|RegistryAuthFailed)$/);
    expect(await manifestDigest(plain.host, "anon/app", "v1")).toBeUndefined();
  });

  it("pulls anonymously where the token server allows it, and is refused a push", async () => {
    const report = await session().copyImage(ref(open.registry, "pub/app:v1"), ref(plain, "pub/app:v1"));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ status: "copied", digest: pub.digest });
    expect(await manifestDigest(plain.host, "pub/app", "v1")).toBe(pub.digest);
    expect(granted(open.tokens.issued)).toContainEqual({
      account: undefined,
      access: ["repository:pub/app:pull"],
    });

    const push = await session().copyImage(ref(plain, "src/app:v1"), ref(open.registry, "pub/pushed:v1"));
    expect(push.status).toBe("failed");
    expect(push.error?.name).toMatch(/^(RegistryError|RegistryAuthFailed)$/);
    expect(
      await manifestDigest(open.registry.host, "pub/pushed", "v1", as(open.tokens, ["pub/pushed"])),
    ).toBe(undefined);
  });

  it("leaves only complete manifests in the token registries", async () => {
    for (const { registry, tokens } of [secure, open]) {
      const { checked, problems } = await incompleteManifests(registry, (repo) =>
        as(tokens, [repo], ["pull"]),
      );
      expect(problems).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    }
  });
});
