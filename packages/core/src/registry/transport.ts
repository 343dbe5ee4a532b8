import { setTimeout as delay } from "node:timers/promises";
import { type CredentialProvider, cacheCredentials } from "./auth.ts";
import { Authenticator, authenticate } from "./authenticate.ts";
import { BearerTokens } from "./bearer.ts";
import { type HttpAgents, type HttpBody, sharedAgents } from "./http.ts";
import { DEFAULT_REGISTRY_RETRY, type RetryPolicy, type Sleep, withRetry } from "./retry.ts";
import {
  checkStatus,
  followRedirects,
  type RegistryResponse,
  type RoundTrip,
  roundTrip,
} from "./roundtrip.ts";

/**
 * The HTTP layer of the registry engine, as go-containerregistry's `remote/transport`: one instance
 * per registry host, composed of small layers, each wrapping the next:
 *
 *   retry → status check → auth (Basic, Bearer challenge) → redirects → one exchange
 *
 * so an unexpected status becomes a `RegistryError` carrying the registry's own error code, and only
 * what is temporary is retried, in one loop (`retry.ts`). Token requests use the same retry, status
 * check and exchange layers.
 *
 * Secrets never leave these layers: tokens and passwords are only put in `Authorization` headers, and
 * no error message, log line or report includes a header.
 */

export interface TransportOptions {
  /** Registry host with port (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Speak plain HTTP to this registry (local and test registries only). */
  readonly insecure?: boolean;
  readonly credentials?: CredentialProvider;
  /** Keep-alive agents; by default the process-wide ones, so connections are reused across transports. */
  readonly agents?: HttpAgents | undefined;
  readonly retry?: RetryPolicy;
  readonly userAgent?: string;
  /** Injected in tests. */
  readonly sleep?: Sleep;
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

export class RegistryTransport {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly userAgent: string;
  private readonly roundTrip: RoundTrip;

  constructor(options: TransportOptions) {
    this.registry = options.registry;
    this.baseUrl = `${options.insecure ? "http" : "https"}://${options.registry}`;
    this.userAgent = options.userAgent ?? "gitpod-dr";
    const now = options.now ?? Date.now;
    const retry = {
      policy: options.retry ?? DEFAULT_REGISTRY_RETRY,
      sleep: options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {})),
      random: options.random ?? Math.random,
    } satisfies Parameters<typeof withRetry>[1];
    const exchange = roundTrip(options.agents ?? sharedAgents());
    const credentials = options.credentials && cacheCredentials(options.credentials, now);
    const tokens = new BearerTokens({
      registry: this.registry,
      insecure: options.insecure === true,
      userAgent: this.userAgent,
      credentials: async () => credentials?.(),
      roundTrip: withRetry(checkStatus(exchange, now), retry),
      now,
    });
    // Credentials go only to this registry, over the scheme it was configured with (never to another
    // host a redirect names, never downgraded to plain HTTP).
    const base = new URL(this.baseUrl);
    const trusted = (url: URL) => url.host === base.host && url.protocol === base.protocol;
    const auth = new Authenticator(this.registry, credentials, tokens);
    this.roundTrip = withRetry(
      checkStatus(authenticate(followRedirects(exchange, trusted), auth, trusted), now),
      retry,
    );
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
  send(options: SendOptions): Promise<RegistryResponse> {
    return this.roundTrip({
      ...options,
      url: this.resolve(options.url),
      headers: { "user-agent": this.userAgent, ...options.headers },
      what: `${options.what} at ${this.registry}`,
    });
  }
}
