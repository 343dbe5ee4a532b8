import { setTimeout as delay } from "node:timers/promises";
import { GitpodDrError } from "../errors.ts";
import { mergeScopes, parseChallenge } from "./challenge.ts";
import { RegistryAuthError, RegistryError } from "./errors.ts";
import { discard, type HttpAgents, type HttpBody, httpRequest, sharedAgents } from "./http.ts";

/**
 * The HTTP layer of the registry engine, as go-containerregistry's `remote/transport`: one instance
 * per registry host, which authenticates (Basic, Bearer token challenge), retries what is temporary and
 * turns every other answer into a `RegistryError` carrying the registry's own error code.
 *
 * Secrets never leave this file: tokens and passwords are only put in `Authorization` headers, and no
 * error message, log line or report includes a header.
 */

/** What a credential provider resolves: user name and password (ECR: `AWS` and the token). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** When they stop working; they are fetched again shortly before. */
  readonly expiresAt?: Date;
}

/**
 * Resolves a registry's credentials; `undefined` means anonymous. Called only when a request needs
 * them (a challenge), and again only after expiry. A provider marked `preemptive` is called before
 * the first request and its credentials sent with it as Basic (ECR, which challenges every request).
 */
export type CredentialProvider = (() => Promise<Credentials | undefined>) & { readonly preemptive?: boolean };

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is returned as is. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_REGISTRY_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export interface TransportOptions {
  /** Registry host with port (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Speak plain HTTP to this registry (local and test registries only). */
  readonly insecure?: boolean;
  readonly credentials?: CredentialProvider;
  /** Keep-alive agents; by default the process-wide ones, so connections are reused across transports. */
  readonly agents?: HttpAgents;
  readonly retry?: RetryPolicy;
  readonly userAgent?: string;
  /** Injected in tests. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

export type RequestBody = HttpBody;

export interface SendOptions {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A path (`/v2/…`) or an absolute URL (an upload `Location`). */
  readonly url: string;
  /** Token scopes this request needs (`repository:foo:pull,push`). */
  readonly scopes: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  /** Statuses that are success for this call; any other is an error. */
  readonly expect: readonly number[];
  /** What the call does, for error messages: `HEAD manifest gitpod/server:1.2`. */
  readonly what: string;
  readonly signal?: AbortSignal;
  /** Follow 3xx redirects (blob downloads are redirected to storage); auth is not sent to another host. */
  readonly followRedirects?: boolean;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body stream; the caller must consume it or call `dump()`. */
  readonly body: NodeJS.ReadableStream & AsyncIterable<Buffer> & { destroy(error?: Error): void };
  /** Reads and drops the body, so the connection is reused. */
  dump(): Promise<void>;
  /** The final URL (after redirects). */
  readonly url: string;
}

const NETWORK_TEMPORARY = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
  // A response body cut off by the peer ("aborted", "socket hang up" carry ECONNRESET).
  "ERR_STREAM_PREMATURE_CLOSE",
]);

const STATUS_CODES: Readonly<Record<number, string>> = {
  401: "UNAUTHORIZED",
  403: "DENIED",
  429: "TOOMANYREQUESTS",
};

/** Whether an HTTP status is worth retrying: 408, 429 and every 5xx (go-containerregistry's rule). */
export function isTemporaryStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** The error code of a network failure (Node's `ECONNRESET`…), found on the error or its causes. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies a failure that produced no HTTP status (reset, refused, timeout) into a `RegistryError`. */
export function networkError(error: unknown, what: string): RegistryError {
  if (error instanceof RegistryError) return error;
  const code = networkErrorCode(error) ?? "NETWORK_ERROR";
  const reason = error instanceof Error ? error.message : String(error);
  return new RegistryError(
    `${what}: ${reason} (${code})`,
    { status: 0, registryCode: code, temporary: NETWORK_TEMPORARY.has(code) },
    { cause: error },
  );
}

/** Parses `Retry-After` (seconds or an HTTP date) into seconds from now. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Builds the `RegistryError` for an unexpected answer from the OCI error body (`{"errors":[…]}`). */
export function registryErrorFrom(
  status: number,
  headers: Readonly<Record<string, string>>,
  bodyText: string,
  what: string,
  now?: number,
): RegistryError {
  // A HEAD answer has no body: name the common statuses as the spec's error codes would.
  let code = STATUS_CODES[status] ?? `HTTP_${status}`;
  let detail = "";
  try {
    const parsed = JSON.parse(bodyText) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first?.code) code = first.code;
    if (first?.message) detail = first.message;
  } catch {
    // Not JSON (a proxy's HTML page): keep the status only.
  }
  const retryAfterSeconds = parseRetryAfter(headers["retry-after"], now);
  const message = `${what}: HTTP ${status} ${code}${detail ? ` (${detail.slice(0, 200)})` : ""}`;
  return new RegistryError(message, {
    status,
    registryCode: code,
    temporary: isTemporaryStatus(status),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

interface CachedToken {
  readonly header: string;
  readonly expiresAt: number;
}

function isReplayable(body: RequestBody | undefined): boolean {
  return body === undefined || typeof body === "string" || Buffer.isBuffer(body);
}

async function readText(body: AsyncIterable<Buffer>, limit = 65_536): Promise<string> {
  let text = "";
  try {
    for await (const chunk of body) {
      if (text.length < limit) text += Buffer.from(chunk as Uint8Array).toString("utf8");
    }
  } catch {
    // A body cut short is still reported by its status.
  }
  return text.slice(0, limit);
}

export class RegistryTransport {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly agents: HttpAgents;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private scheme: "unknown" | "none" | "basic" | "bearer" = "unknown";
  private bearer: { realm: string; service?: string } | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<CachedToken>>();
  private credentials: { value: Credentials | undefined; until: number } | undefined;
  private pendingCredentials: Promise<Credentials | undefined> | undefined;

  constructor(private readonly options: TransportOptions) {
    this.registry = options.registry;
    this.baseUrl = `${options.insecure ? "http" : "https"}://${options.registry}`;
    this.agents = options.agents ?? sharedAgents();
    this.retry = options.retry ?? DEFAULT_REGISTRY_RETRY;
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {}));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Resolves a path or `Location` value against this registry. */
  resolve(url: string): string {
    return new URL(url, this.baseUrl).toString();
  }

  /**
   * Sends one request, authenticating and retrying as needed.
   *
   * A body that is a stream cannot be sent twice, so such a request is neither retried nor
   * re-authenticated here: the caller authenticates first with a cheap request in the same scope (an
   * upload's POST) and retries the whole transfer itself.
   *
   * @throws RegistryError for any status not in `expect`, after retries of temporary ones.
   * @throws RegistryAuthError when the registry wants credentials that are not configured.
   */
  async send(options: SendOptions): Promise<RegistryResponse> {
    const replayable = isReplayable(options.body);
    let challenged = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      let response: RegistryResponse;
      try {
        response = await this.once(options);
      } catch (error) {
        // Our own errors (credentials that could not be read, a body that failed verification) keep
        // their name; only what came from the network is classified here.
        if (error instanceof GitpodDrError && !(error instanceof RegistryError)) throw error;
        const classified = networkError(error, `${options.what} at ${this.registry}`);
        if (options.signal?.aborted) throw error;
        if (classified.temporary && replayable && attempt < this.retry.maxAttempts) {
          await this.sleep(this.backoff(attempt), options.signal);
          continue;
        }
        throw classified;
      }
      if (response.status === 401 && !challenged && replayable) {
        const header = response.headers["www-authenticate"];
        await response.dump();
        challenged = true;
        attempt--; // answering a challenge is not a retry
        await this.answerChallenge(header, options.scopes);
        continue;
      }
      if (options.expect.includes(response.status)) return response;
      const text = await readText(response.body);
      const error = registryErrorFrom(
        response.status,
        response.headers,
        text,
        `${options.what} at ${this.registry}`,
        this.now(),
      );
      if (error.temporary && replayable && attempt < this.retry.maxAttempts) {
        const wait = this.waitFor(error, attempt);
        if (wait !== undefined) {
          await this.sleep(wait, options.signal);
          continue;
        }
      }
      throw error;
    }
  }

  /** Backoff before attempt `attempt + 1`: exponential with full jitter. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(this.random() * ceiling);
  }

  private waitFor(error: RegistryError, attempt: number): number | undefined {
    const retryAfter = error.details.retryAfterSeconds;
    if (retryAfter === undefined) return this.backoff(attempt);
    const ms = retryAfter * 1000;
    return ms > this.retry.maxRetryAfterMs ? undefined : Math.max(ms, this.backoff(attempt));
  }

  private async once(options: SendOptions): Promise<RegistryResponse> {
    let url = this.resolve(options.url);
    for (let hops = 0; ; hops++) {
      // Credentials go only to this registry, over the scheme it was configured with (never to another
      // host a redirect names, never downgraded to plain HTTP).
      const target = new URL(url);
      const base = new URL(this.baseUrl);
      const sameHost = target.host === base.host && target.protocol === base.protocol;
      const headers: Record<string, string> = {
        "user-agent": this.options.userAgent ?? "gitpod-dr",
        ...options.headers,
      };
      if (sameHost) {
        const authorization = await this.authorization(options.scopes);
        if (authorization) headers.authorization = authorization;
      }
      const result = await httpRequest(new URL(url), {
        method: options.method,
        headers,
        agents: this.agents,
        ...(options.body !== undefined ? { body: options.body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const responseHeaders = result.headers;
      const location = responseHeaders.location;
      if (
        options.followRedirects &&
        location &&
        [301, 302, 303, 307, 308].includes(result.statusCode) &&
        hops < 5
      ) {
        await discard(result.body);
        url = new URL(location, url).toString();
        continue;
      }
      const body = result.body;
      return { status: result.statusCode, headers: responseHeaders, body, url, dump: () => discard(body) };
    }
  }

  /** The `Authorization` value for these scopes, from what earlier challenges taught us. */
  private async authorization(scopes: readonly string[]): Promise<string | undefined> {
    if (this.scheme === "bearer") return (await this.token(scopes)).header;
    // Credentials are fetched only when they will be sent: a registry that never challenges (anonymous
    // pull) costs no Secrets Manager call.
    if (this.scheme === "basic" || (this.scheme === "unknown" && this.options.credentials?.preemptive)) {
      const credentials = await this.getCredentials();
      if (credentials) return basic(credentials);
    }
    return undefined;
  }

  private async answerChallenge(header: string | undefined, scopes: readonly string[]): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      this.scheme = "bearer";
      this.bearer = {
        realm: challenge.params.realm,
        ...(challenge.params.service ? { service: challenge.params.service } : {}),
      };
      const wanted = mergeScopes([...scopes, ...(challenge.params.scope ? [challenge.params.scope] : [])]);
      // The token we sent (if any) was refused or did not cover the request: fetch a fresh one.
      this.tokens.delete(mergeScopes(scopes).join(" "));
      this.tokens.delete(wanted.join(" "));
      await this.token(wanted, scopes);
      return;
    }
    if (challenge?.scheme === "basic") {
      const credentials = await this.getCredentials();
      if (!credentials) {
        throw new RegistryAuthError(
          `Registry ${this.registry} requires credentials (HTTP Basic) and none are configured for it`,
        );
      }
      if (this.scheme === "basic") {
        // We already sent them and they were refused.
        throw new RegistryError(`Registry ${this.registry} refused the configured credentials`, {
          status: 401,
          registryCode: "UNAUTHORIZED",
          temporary: false,
        });
      }
      this.scheme = "basic";
      return;
    }
    throw new RegistryAuthError(
      `Registry ${this.registry} answered 401 with an authentication scheme gitpod-dr does not support (${challenge?.scheme ?? "none given"})`,
    );
  }

  /** A Bearer token for the scopes, cached until shortly before it expires; concurrent callers share one fetch. */
  private async token(scopes: readonly string[], alsoCacheFor?: readonly string[]): Promise<CachedToken> {
    const key = mergeScopes(scopes).join(" ");
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached;
    const pending = this.pendingTokens.get(key);
    if (pending) return pending;
    const fetching = this.fetchToken(mergeScopes(scopes)).finally(() => this.pendingTokens.delete(key));
    this.pendingTokens.set(key, fetching);
    const token = await fetching;
    this.tokens.set(key, token);
    if (alsoCacheFor) this.tokens.set(mergeScopes(alsoCacheFor).join(" "), token);
    return token;
  }

  private async fetchToken(scopes: readonly string[]): Promise<CachedToken> {
    const bearer = this.bearer;
    if (!bearer) throw new RegistryAuthError(`Registry ${this.registry}: no Bearer realm is known`);
    const url = new URL(bearer.realm);
    if (url.protocol !== "https:" && !this.options.insecure) {
      throw new RegistryAuthError(
        `Registry ${this.registry} names a token server over plain HTTP (${url.host}); gitpod-dr does not send credentials in cleartext`,
      );
    }
    if (bearer.service) url.searchParams.set("service", bearer.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const credentials = await this.getCredentials();
    const what = `Token request to ${url.host} for ${this.registry}`;
    let attempt = 0;
    for (;;) {
      attempt++;
      let status: number;
      let text: string;
      let headers: Record<string, string>;
      try {
        const result = await httpRequest(url, {
          method: "GET",
          agents: this.agents,
          headers: {
            "user-agent": this.options.userAgent ?? "gitpod-dr",
            ...(credentials ? { authorization: basic(credentials) } : {}),
          },
        });
        status = result.statusCode;
        headers = result.headers;
        text = await readText(result.body, 1_000_000);
      } catch (error) {
        const classified = networkError(error, what);
        if (classified.temporary && attempt < this.retry.maxAttempts) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw classified;
      }
      if (status !== 200) {
        const error = registryErrorFrom(status, headers, text, what, this.now());
        if (status === 401 || status === 403) {
          throw new RegistryError(
            `${what}: the token server refused ${credentials ? "the configured credentials" : "anonymous access"} (HTTP ${status})`,
            { status, registryCode: error.registryCode, temporary: false },
          );
        }
        const wait =
          error.temporary && attempt < this.retry.maxAttempts ? this.waitFor(error, attempt) : undefined;
        if (wait !== undefined) {
          await this.sleep(wait);
          continue;
        }
        throw error;
      }
      let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
      try {
        body = JSON.parse(text);
      } catch {
        throw new RegistryError(`${what}: the answer is not JSON`, {
          status,
          registryCode: "INVALID_TOKEN_RESPONSE",
          temporary: false,
        });
      }
      const token = body.token ?? body.access_token;
      if (!token) {
        throw new RegistryError(`${what}: the answer has no token`, {
          status,
          registryCode: "INVALID_TOKEN_RESPONSE",
          temporary: false,
        });
      }
      // The spec's default lifetime is 60 s. Refresh 10% (at most 30 s) before it ends.
      const lifetime =
        (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60) * 1000;
      const issued = body.issued_at ? Date.parse(body.issued_at) : Number.NaN;
      const start = Number.isNaN(issued) ? this.now() : Math.min(issued, this.now());
      return { header: `Bearer ${token}`, expiresAt: start + lifetime - Math.min(30_000, lifetime / 10) };
    }
  }

  private async getCredentials(): Promise<Credentials | undefined> {
    if (!this.options.credentials) return undefined;
    if (this.credentials && this.credentials.until > this.now()) return this.credentials.value;
    this.pendingCredentials ??= this.options.credentials().finally(() => {
      this.pendingCredentials = undefined;
    });
    const value = await this.pendingCredentials;
    // Refresh five minutes before expiry (ECR tokens last 12 hours).
    const until = value?.expiresAt ? value.expiresAt.getTime() - 5 * 60_000 : Number.POSITIVE_INFINITY;
    this.credentials = { value, until };
    return value;
  }
}

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
