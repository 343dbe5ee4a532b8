import type { CredentialProvider } from "./auth.ts";
import { type BearerTokens, basicAuthorization } from "./bearer.ts";
import { parseChallenge } from "./challenge.ts";
import { RegistryAuthError, RegistryError } from "./errors.ts";
import { isReplayable, type RegistryRequest, type RoundTrip } from "./roundtrip.ts";

/**
 * The transport's auth layer: what a registry's challenges taught us (none yet, Basic or Bearer), the
 * credentials cached until they near expiry, and the `Authorization` header they give a request.
 */
export class Authenticator {
  private scheme: "unknown" | "basic" | "bearer" = "unknown";

  constructor(
    private readonly registry: string,
    /** Cached (`cacheCredentials`): asked for at every request that sends them. */
    private readonly credentials: CredentialProvider | undefined,
    private readonly tokens: BearerTokens,
  ) {}

  /** The `Authorization` value for these scopes, from what earlier challenges taught us. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    if (this.scheme === "bearer") return this.tokens.header(scopes);
    // Credentials are fetched only when they will be sent: a registry that never challenges (anonymous
    // pull) costs no Secrets Manager call.
    if (this.scheme === "basic" || (this.scheme === "unknown" && this.credentials?.preemptive)) {
      const credentials = await this.credentials?.();
      if (credentials) return basicAuthorization(credentials);
    }
    return undefined;
  }

  /**
   * Learns from a 401's `WWW-Authenticate` header, fetching a token for a Bearer challenge.
   *
   * @throws RegistryAuthError when the registry wants credentials that are not configured, or a scheme
   *   gitpod-dr does not speak.
   * @throws RegistryError when the registry refused the Basic credentials already sent.
   */
  async answerChallenge(header: string | undefined, scopes: readonly string[]): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      this.scheme = "bearer";
      const { realm, service, scope } = challenge.params;
      await this.tokens.challenged({ realm, ...(service ? { service } : {}) }, scopes, scope);
      return;
    }
    if (challenge?.scheme === "basic") {
      const credentials = await this.credentials?.();
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
}

/**
 * Wraps `inner` so that requests to a `trusted` URL carry the `Authorization` header, and a 401 is
 * answered once per request (its challenge learnt, the request sent again). A request whose body is a
 * stream cannot be sent again, so its 401 is returned as is: the caller authenticates first with a
 * cheap request in the same scope (an upload's POST).
 */
export function authenticate(
  inner: RoundTrip,
  auth: Authenticator,
  trusted: (url: URL) => boolean,
): RoundTrip {
  // Per request, not per attempt: a retried request whose credentials are refused again fails.
  const challenged = new WeakSet<RegistryRequest>();
  const authorized = async (request: RegistryRequest): Promise<RegistryRequest> => {
    if (!trusted(new URL(request.url))) return request;
    const authorization = await auth.authorization(request.scopes);
    return authorization ? { ...request, headers: { ...request.headers, authorization } } : request;
  };
  return async (request) => {
    const response = await inner(await authorized(request));
    if (response.status !== 401 || challenged.has(request) || !isReplayable(request.body)) return response;
    challenged.add(request);
    const header = response.headers["www-authenticate"];
    await response.dump();
    await auth.answerChallenge(header, request.scopes);
    return inner(await authorized(request));
  };
}
