import { rememberSecret } from "../notify/secrets.ts";
import type { Credentials } from "./auth.ts";
import { mergeScopes } from "./challenge.ts";
import { RegistryAuthError, RegistryError } from "./errors.ts";
import { type RoundTrip, readText } from "./roundtrip.ts";

/**
 * Bearer tokens from a registry's token server (the distribution token spec; go-containerregistry's
 * `transport/bearer.go`): fetched with the registry's credentials as Basic (or anonymously), cached per
 * scope set until shortly before they expire, one fetch shared by concurrent callers.
 */

export interface BearerRealm {
  readonly realm: string;
  readonly service?: string;
}

export interface BearerTokensOptions {
  readonly registry: string;
  /** The registry is spoken to over plain HTTP, so its token server may be too. */
  readonly insecure: boolean;
  readonly userAgent: string;
  readonly credentials: () => Promise<Credentials | undefined>;
  /** Sends token requests: retried and status-checked, never redirected. */
  readonly roundTrip: RoundTrip;
  readonly now: () => number;
}

interface Token {
  /** The whole `Authorization` value. */
  readonly header: string;
  readonly expiresAt: number;
}

const keyOf = (scopes: readonly string[]) => mergeScopes(scopes).join(" ");

export class BearerTokens {
  private realm: BearerRealm | undefined;
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<Token>>();

  constructor(private readonly options: BearerTokensOptions) {}

  /**
   * Answers a Bearer challenge: adopts its realm and fetches a fresh token for the union of the
   * request's scopes and the challenge's, cached under both (the token sent, if any, was refused or
   * did not cover the request).
   */
  async challenged(realm: BearerRealm, scopes: readonly string[], challengeScope?: string): Promise<void> {
    this.realm = realm;
    const wanted = mergeScopes([...scopes, ...(challengeScope ? [challengeScope] : [])]);
    this.tokens.delete(keyOf(scopes));
    this.tokens.delete(keyOf(wanted));
    await this.token(wanted, scopes);
  }

  /** The `Authorization` value for these scopes. */
  async header(scopes: readonly string[]): Promise<string> {
    return (await this.token(scopes)).header;
  }

  private async token(scopes: readonly string[], alsoCacheFor?: readonly string[]): Promise<Token> {
    const key = keyOf(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.options.now()) return cached;
    const pending = this.pending.get(key);
    if (pending) return pending;
    const fetching = this.fetch(mergeScopes(scopes)).finally(() => this.pending.delete(key));
    this.pending.set(key, fetching);
    const token = await fetching;
    this.tokens.set(key, token);
    if (alsoCacheFor) this.tokens.set(keyOf(alsoCacheFor), token);
    return token;
  }

  private async fetch(scopes: readonly string[]): Promise<Token> {
    const { registry, insecure, userAgent, now } = this.options;
    const realm = this.realm;
    if (!realm) throw new RegistryAuthError(`Registry ${registry}: no Bearer realm is known`);
    const url = new URL(realm.realm);
    if (url.protocol !== "https:" && !insecure) {
      throw new RegistryAuthError(
        `Registry ${registry} names a token server over plain HTTP (${url.host}); gitpod-dr does not send credentials in cleartext`,
      );
    }
    if (realm.service) url.searchParams.set("service", realm.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const credentials = await this.options.credentials();
    const what = `Token request to ${url.host} for ${registry}`;
    let text: string;
    let status: number;
    try {
      const response = await this.options.roundTrip({
        method: "GET",
        url: url.toString(),
        headers: {
          "user-agent": userAgent,
          ...(credentials ? { authorization: basicAuthorization(credentials) } : {}),
        },
        what,
        scopes: [],
        expect: [200],
      });
      status = response.status;
      text = await readText(response.body, 1_000_000);
    } catch (error) {
      if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) {
        throw new RegistryError(
          `${what}: the token server refused ${credentials ? "the configured credentials" : "anonymous access"} (HTTP ${error.status})`,
          { status: error.status, registryCode: error.registryCode, temporary: false },
        );
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
    rememberSecret(token);
    // The spec's default lifetime is 60 s. Refresh 10% (at most 30 s) before it ends.
    const lifetime =
      (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    const issued = body.issued_at ? Date.parse(body.issued_at) : Number.NaN;
    const start = Number.isNaN(issued) ? now() : Math.min(issued, now());
    return { header: `Bearer ${token}`, expiresAt: start + lifetime - Math.min(30_000, lifetime / 10) };
  }
}

/** The `Authorization` value for HTTP Basic. */
export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
