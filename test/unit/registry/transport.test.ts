import http from "node:http";
import https from "node:https";
import net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Credentials } from "../../../packages/core/src/registry/auth.ts";
import {
  isTemporaryStatus,
  parseRetryAfter,
  RegistryAuthError,
  RegistryError,
} from "../../../packages/core/src/registry/errors.ts";
import type { RetryPolicy } from "../../../packages/core/src/registry/retry.ts";
import {
  RegistryTransport,
  type SendOptions,
  type TransportOptions,
} from "../../../packages/core/src/registry/transport.ts";
import { type Exchange, FakeNetwork, type Handler, type Reply } from "./fake-network.ts";

const PASSWORD = "s3cr3t-Pa55word-xyz";
const USER = "robot";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
const TOKEN = "tok-eyJhbGciOiJSUzI1NiJ9.secret-token-value";
const BEARER_CHALLENGE =
  'Bearer realm="https://auth.test/token",service="reg.test",scope="repository:a:pull"';
const RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

const ociError = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });

/** Answers with each reply in turn; the last one repeats. */
function script(...replies: Reply[]): Handler {
  let i = 0;
  return () => replies[Math.min(i++, replies.length - 1)] as Reply;
}

let network: FakeNetwork;
beforeEach(async () => {
  network = await FakeNetwork.start();
});
afterEach(async () => {
  await network.close();
});

/** A transport for https://reg.test on the fake network, with recorded sleeps and a controllable clock. */
function world(options: Partial<TransportOptions> = {}) {
  const sleeps: number[] = [];
  const clock = { now: 1_700_000_000_000 };
  const transport = new RegistryTransport({
    registry: "reg.test",
    agents: network.agents,
    retry: RETRY,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
    now: () => clock.now,
    ...options,
  });
  return { transport, sleeps, clock, calls: (): Exchange[] => network.requests };
}

const getManifest = (extra: Partial<SendOptions> = {}): SendOptions => ({
  method: "GET",
  url: "/v2/a/manifests/t",
  scopes: ["repository:a:pull"],
  expect: [200],
  what: "GET manifest a:t",
  ...extra,
});

const credentials = (
  extra: Partial<Credentials> = {},
  flags: { preemptive?: boolean } = {},
): NonNullable<TransportOptions["credentials"]> =>
  Object.assign(async () => ({ username: USER, password: PASSWORD, ...extra }), flags);

/** Sends and returns the error it rejects with; fails the test if it resolves. */
async function failure(transport: RegistryTransport, options: SendOptions): Promise<Error> {
  const result = await transport.send(options).then(
    async (response) => {
      await response.dump();
      return undefined;
    },
    (error: Error) => error,
  );
  if (!result) throw new Error("the request succeeded");
  return result;
}

/** Sends, reads the body, and returns status and text. */
async function ok(transport: RegistryTransport, options: SendOptions = getManifest()) {
  const response = await transport.send(options);
  let text = "";
  for await (const chunk of response.body) text += chunk.toString();
  return { status: response.status, text, url: response.url };
}

const scopesOf = (exchange: Exchange | undefined) =>
  new URL(exchange?.path ?? "/", "https://x").searchParams.getAll("scope");

function expectNoSecret(error: Error) {
  for (const text of [error.message, String(error.stack)]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(BASIC.slice("Basic ".length));
    expect(text).not.toContain(TOKEN);
  }
}

describe("isTemporaryStatus", () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [200, false],
  ])("%i → %s", (status, temporary) => {
    expect(isTemporaryStatus(status)).toBe(temporary);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-26T03:00:00Z");

  it.each<[string | undefined, number | undefined]>([
    ["2", 2],
    [" 120 ", 120],
    ["0", 0],
    ["Thu, 26 Nov 2026 03:00:30 GMT", 30],
    ["Thu, 26 Nov 2026 03:00:00 GMT", 0],
    ["Wed, 25 Nov 2026 03:00:00 GMT", 0],
    ["soon", undefined],
    ["", undefined],
    ["   ", undefined],
    [undefined, undefined],
  ])("%j → %j", (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});

describe("RegistryTransport retries", () => {
  it("retries 503 twice with growing backoff and succeeds on the third request", async () => {
    const { transport, sleeps, calls } = world();
    network.route(
      "reg.test",
      script({ status: 503, body: "busy" }, { status: 503, body: "busy" }, { status: 200, body: "{}" }),
    );

    const response = await ok(transport);

    expect(response).toMatchObject({ status: 200, text: "{}" });
    expect(calls()).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
  });

  it("waits at least Retry-After before retrying a 429", async () => {
    const { transport, sleeps, calls } = world();
    network.route(
      "reg.test",
      script(
        { status: 429, body: ociError("TOOMANYREQUESTS", "slow down"), headers: { "retry-after": "2" } },
        { status: 200, body: "{}" },
      ),
    );

    const response = await ok(transport);

    expect(response.status).toBe(200);
    expect(calls()).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2_000);
  });

  it("does not wait for a Retry-After longer than maxRetryAfterMs: the error is returned at once", async () => {
    const { transport, sleeps, calls } = world();
    network.route(
      "reg.test",
      script({
        status: 503,
        body: ociError("UNAVAILABLE", "maintenance"),
        headers: { "retry-after": "120" },
      }),
    );

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({
      status: 503,
      registryCode: "UNAVAILABLE",
      temporary: true,
      details: { retryAfterSeconds: 120 },
    });
    expect(calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("gives up on a temporary status after maxAttempts requests", async () => {
    const { transport, sleeps, calls } = world();
    network.route("reg.test", script({ status: 502, body: "<html>bad gateway</html>" }));

    const error = await failure(transport, getManifest());

    expect(error).toMatchObject({
      name: "RegistryError",
      status: 502,
      registryCode: "HTTP_502",
      temporary: true,
    });
    expect(error.message).toBe("GET manifest a:t at reg.test: HTTP 502 HTTP_502");
    expect(calls()).toHaveLength(RETRY.maxAttempts);
    expect(sleeps).toEqual([250, 500, 1_000]);
  });

  it.each([
    [404, "MANIFEST_UNKNOWN", "manifest unknown"],
    [403, "DENIED", "requested access to the resource is denied"],
    [400, "MANIFEST_INVALID", "manifest invalid"],
    [409, "CONFLICT", "conflict"],
  ])("fails at once on %i with the registry's code %s", async (status, code, message) => {
    const { transport, sleeps, calls } = world();
    network.route("reg.test", script({ status, body: ociError(code, message) }));

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status, registryCode: code, temporary: false, retryable: false });
    expect(error.message).toBe(`GET manifest a:t at reg.test: HTTP ${status} ${code} (${message})`);
    expect(calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("returns an expected non-2xx status as an answer, not an error", async () => {
    const { transport } = world();
    network.route("reg.test", script({ status: 404 }));

    const response = await transport.send(getManifest({ method: "HEAD", expect: [200, 404] }));
    await response.dump();

    expect(response.status).toBe(404);
  });

  it("retries a connection reset and succeeds", async () => {
    const { transport, sleeps, calls } = world();
    network.route("reg.test", script("reset", { status: 200, body: "{}" }));

    const response = await ok(transport);

    expect(response.status).toBe(200);
    expect(calls()).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it("classifies a reset that outlives the retries as temporary, with status 0 and the network code", async () => {
    const { transport, calls } = world();
    network.route("reg.test", script("reset"));

    const error = await failure(transport, getManifest());

    expect(error).toMatchObject({
      name: "RegistryError",
      status: 0,
      registryCode: "ECONNRESET",
      temporary: true,
    });
    expect(error.message).toMatch(/^GET manifest a:t at reg\.test: .* \(ECONNRESET\)$/);
    expect(calls()).toHaveLength(RETRY.maxAttempts);
  });

  it("retries a refused connection and reports it as temporary when it outlives the retries", async () => {
    // Nothing listens on port 1 of the loopback address.
    const { transport, sleeps } = world({ registry: "127.0.0.1:1", insecure: true, agents: undefined });

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 0, registryCode: "ECONNREFUSED", temporary: true });
    expect(sleeps).toHaveLength(RETRY.maxAttempts - 1);
  });

  it("does not retry a network error that is not temporary (a host that does not resolve)", async () => {
    let connections = 0;
    const unresolvable = () => {
      connections++;
      const socket = new net.Socket();
      process.nextTick(() =>
        socket.destroy(Object.assign(new Error("getaddrinfo ENOTFOUND reg.test"), { code: "ENOTFOUND" })),
      );
      return socket;
    };
    class NoDnsHttps extends https.Agent {
      override createConnection() {
        return unresolvable();
      }
    }
    const { transport, sleeps } = world({ agents: { http: new http.Agent(), https: new NoDnsHttps() } });

    const error = await failure(transport, getManifest());

    expect(error).toMatchObject({ status: 0, registryCode: "ENOTFOUND", temporary: false });
    expect(error.message).toBe("GET manifest a:t at reg.test: getaddrinfo ENOTFOUND reg.test (ENOTFOUND)");
    expect(connections).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("sends a streamed body once: a 503 is not retried because the body cannot be replayed", async () => {
    const { transport, calls } = world();
    network.route("reg.test", script({ status: 503, body: "busy" }));
    async function* body() {
      yield Buffer.from("chunk");
    }

    const error = await failure(
      transport,
      getManifest({ method: "PATCH", url: "/v2/a/blobs/uploads/1", body: body(), expect: [202] }),
    );

    expect(error).toMatchObject({ status: 503, temporary: true });
    expect(calls()).toHaveLength(1);
    expect(calls()[0]?.body.toString()).toBe("chunk");
  });
});

describe("RegistryTransport authentication", () => {
  /** A registry that wants `Bearer <token>` and challenges anything else; the token server hands out tok-N. */
  function bearerWorld(options: Partial<TransportOptions> = {}) {
    const w = world({ credentials: credentials(), ...options });
    const issued: string[] = [];
    network.route("auth.test", () => {
      const token = `${TOKEN}-${issued.length + 1}`;
      issued.push(token);
      return { status: 200, body: JSON.stringify({ token, expires_in: 300 }) };
    });
    network.route("reg.test", (exchange) =>
      issued.some((t) => exchange.headers.authorization === `Bearer ${t}`)
        ? { status: 200, body: "{}" }
        : {
            status: 401,
            body: ociError("UNAUTHORIZED", "authentication required"),
            headers: { "www-authenticate": BEARER_CHALLENGE },
          },
    );
    return { ...w, issued };
  }

  it("answers a Bearer challenge with a token fetched with Basic credentials, and retries with it", async () => {
    const { transport, calls, issued } = bearerWorld();

    const response = await ok(transport);

    expect(response.status).toBe(200);
    const [first, tokenRequest, retried, ...rest] = calls();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ host: "reg.test", path: "/v2/a/manifests/t" });
    expect(first?.headers.authorization).toBeUndefined();
    expect(tokenRequest?.host).toBe("auth.test");
    expect(new URL(tokenRequest?.path ?? "", "https://x").pathname).toBe("/token");
    expect(new URL(tokenRequest?.path ?? "", "https://x").searchParams.get("service")).toBe("reg.test");
    expect(scopesOf(tokenRequest)).toEqual(["repository:a:pull"]);
    expect(tokenRequest?.headers.authorization).toBe(BASIC);
    expect(retried?.headers.authorization).toBe(`Bearer ${issued[0]}`);
  });

  it("caches the token for the same scopes and fetches a new one after it expires", async () => {
    const { transport, calls, issued, clock } = bearerWorld();
    await ok(transport);

    // Same scopes a minute later: the cached token goes out with the first request.
    clock.now += 60_000;
    await ok(transport);
    const afterCached = [...calls()];
    // expires_in 300 s, refreshed 30 s before: 271 s after issue it is renewed without a challenge.
    clock.now += 211_000;
    await ok(transport);

    expect(afterCached).toHaveLength(4);
    expect(afterCached[3]?.headers.authorization).toBe(`Bearer ${issued[0]}`);
    const all = calls();
    expect(all.filter((c) => c.host === "auth.test")).toHaveLength(2);
    expect(all).toHaveLength(6);
    expect(all[5]?.headers.authorization).toBe(`Bearer ${issued[1]}`);
  });

  it("asks for the union of the request's scopes and the challenge's", async () => {
    const { transport, calls } = bearerWorld();

    await ok(transport, getManifest({ scopes: ["repository:a:push", "repository:b:pull"] }));

    const tokenRequest = calls().find((c) => c.host === "auth.test");
    expect(scopesOf(tokenRequest)).toEqual(["repository:a:pull,push", "repository:b:pull"]);
  });

  it("retries a token server answering 503, with the same backoff as registry requests", async () => {
    const { transport, calls, sleeps } = world({ credentials: credentials() });
    network.route("reg.test", (exchange) =>
      exchange.headers.authorization === `Bearer ${TOKEN}`
        ? { status: 200, body: "{}" }
        : { status: 401, headers: { "www-authenticate": BEARER_CHALLENGE } },
    );
    network.route(
      "auth.test",
      script({ status: 503, body: "busy" }, { status: 200, body: JSON.stringify({ token: TOKEN }) }),
    );

    const response = await ok(transport);

    expect(response.status).toBe(200);
    expect(calls().map((c) => c.host)).toEqual(["reg.test", "auth.test", "auth.test", "reg.test"]);
    expect(sleeps).toEqual([250]);
  });

  it("fails without retrying when the token server refuses the credentials, without the password", async () => {
    const { transport, calls } = world({ credentials: credentials() });
    network.route("reg.test", script({ status: 401, headers: { "www-authenticate": BEARER_CHALLENGE } }));
    network.route(
      "auth.test",
      script({ status: 401, body: JSON.stringify({ details: `incorrect password ${PASSWORD}` }) }),
    );

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 401, temporary: false });
    expect(error.message).toBe(
      "Token request to auth.test for reg.test: the token server refused the configured credentials (HTTP 401)",
    );
    expectNoSecret(error);
    expect(calls()).toHaveLength(2);
  });

  it("reports a Basic challenge without configured credentials as RegistryAuthFailed", async () => {
    const { transport } = world();
    network.route(
      "reg.test",
      script({ status: 401, headers: { "www-authenticate": 'Basic realm="reg.test"' } }),
    );

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.name).toBe("RegistryAuthFailed");
    expect(error.message).toContain("requires credentials (HTTP Basic)");
  });

  it("answers a Basic challenge with the credentials, and reports them refused without repeating them", async () => {
    const { transport, calls } = world({ credentials: credentials() });
    network.route(
      "reg.test",
      script({
        status: 401,
        body: ociError("UNAUTHORIZED", "authentication required"),
        headers: { "www-authenticate": 'Basic realm="reg.test"' },
      }),
    );

    const error = await failure(transport, getManifest());

    expect(calls().map((c) => c.headers.authorization)).toEqual([undefined, BASIC]);
    expect(error).toMatchObject({ status: 401, registryCode: "UNAUTHORIZED", temporary: false });
    expectNoSecret(error);
  });

  it("sends preemptive (ECR) Basic credentials on the very first request", async () => {
    const { transport, calls } = world({ credentials: credentials({}, { preemptive: true }) });
    network.route("reg.test", script({ status: 200, body: "{}" }));

    const response = await ok(transport);

    expect(response.status).toBe(200);
    expect(calls().map((c) => c.headers.authorization)).toEqual([BASIC]);
  });

  it("asks the credential provider once, and again only when its credentials near expiry", async () => {
    let asked = 0;
    const clock = { now: 1_700_000_000_000 };
    const { transport } = world({
      now: () => clock.now,
      credentials: Object.assign(
        async () => {
          asked++;
          return { username: "AWS", password: `p${asked}`, expiresAt: new Date(1_700_003_600_000) };
        },
        { preemptive: true },
      ),
    });
    network.route("reg.test", script({ status: 200, body: "{}" }));

    await ok(transport);
    await ok(transport);
    const before = asked;
    clock.now = 1_700_003_600_000 - 4 * 60_000; // within five minutes of expiry
    await ok(transport);

    expect(before).toBe(1);
    expect(asked).toBe(2);
    expect(network.requests.at(-1)?.headers.authorization).toBe(
      `Basic ${Buffer.from("AWS:p2").toString("base64")}`,
    );
  });

  it("rejects a 401 with an unsupported scheme as RegistryAuthFailed", async () => {
    const { transport } = world({ credentials: credentials() });
    network.route(
      "reg.test",
      script({ status: 401, headers: { "www-authenticate": 'Negotiate realm="x"' } }),
    );

    const error = await failure(transport, getManifest());

    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toContain("(negotiate)");
  });

  it("follows a redirect to storage without sending the registry's credentials there", async () => {
    const { transport, calls } = world({ credentials: credentials({}, { preemptive: true }) });
    network.route(
      "reg.test",
      script({ status: 307, headers: { location: "https://storage.test/blob?X-Amz-Signature=abc" } }),
    );
    network.route("storage.test", script({ status: 200, body: "bytes" }));

    const response = await ok(
      transport,
      getManifest({ url: "/v2/a/blobs/sha256:1", followRedirects: true, what: "GET blob" }),
    );

    expect(response.text).toBe("bytes");
    expect(response.url).toBe("https://storage.test/blob?X-Amz-Signature=abc");
    expect(calls().map((c) => [c.host, c.headers.authorization])).toEqual([
      ["reg.test", BASIC],
      ["storage.test", undefined],
    ]);
  });

  it("never puts the token or the password in an error message", async () => {
    const { transport, issued } = bearerWorld();
    await ok(transport);
    const registry = (exchange: Exchange): Reply => {
      if (exchange.path.endsWith("/denied"))
        return { status: 403, body: ociError("DENIED", "requested access to the resource is denied") };
      if (exchange.path.endsWith("/broken")) return { status: 500, body: "internal error" };
      return "reset";
    };
    network.route("reg.test", registry);

    const errors = await Promise.all(
      ["denied", "broken", "reset"].map((ref) =>
        failure(transport, getManifest({ url: `/v2/a/manifests/${ref}`, what: `GET manifest a:${ref}` })),
      ),
    );

    expect(errors.map((e) => (e as RegistryError).registryCode)).toEqual([
      "DENIED",
      "HTTP_500",
      "ECONNRESET",
    ]);
    expect(issued).toHaveLength(1);
    expect(
      network.requests.filter((r) => r.path.endsWith("/denied")).map((r) => r.headers.authorization),
    ).toEqual([`Bearer ${issued[0]}`]);
    for (const error of errors) {
      expectNoSecret(error);
      expect(error.message).not.toContain(issued[0]);
    }
  });
});
