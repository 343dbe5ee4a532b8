import type { ECRClient, GetAuthorizationTokenCommandOutput } from "@aws-sdk/client-ecr";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { rememberSecret } from "../notify/secrets.ts";
import { awsFailure } from "./aws.ts";
import { RegistryAuthError } from "./errors.ts";

/**
 * Where a registry's credentials come from (go-containerregistry's `authn.Keychain`). The transport
 * calls a provider again only when what it returned expires (`cacheCredentials`).
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

/**
 * ECR: `GetAuthorizationToken` in the registry's own region (the client passed must be for it) gives
 * a 12-hour Basic credential `AWS:<password>`, sent on the first request (ECR challenges Basic).
 */
export function ecrCredentials(ecr: Pick<ECRClient, "send">, registry: string): CredentialProvider {
  const provider = async () => {
    let data: GetAuthorizationTokenCommandOutput;
    try {
      // Lazy: static, the ECR and Secrets Manager SDKs add 22 packages to the engine's load (0.14 → 0.77 s).
      const { GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
      data = await ecr.send(new GetAuthorizationTokenCommand({}));
    } catch (error) {
      throw await awsFailure(`Unable to get an ECR authorization token for ${registry}`, error);
    }
    const auth = data.authorizationData?.[0];
    const decoded = auth?.authorizationToken
      ? Buffer.from(auth.authorizationToken, "base64").toString("utf8")
      : "";
    // Both the token (base64 of `AWS:<password>`, covered as a form of it) and the password alone.
    rememberSecret(decoded);
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new RegistryAuthError(`ECR returned no usable authorization token for ${registry}`);
    rememberSecret(decoded.slice(colon + 1));
    const credentials: Credentials = {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      ...(auth?.expiresAt ? { expiresAt: new Date(auth.expiresAt) } : {}),
    };
    return credentials;
  };
  return Object.assign(provider, { preemptive: true });
}

/**
 * A Secrets Manager secret holding `{"username": "...", "password": "..."}` (a registry robot account or
 * access token). Read once per run; its value never appears in an error.
 */
export function secretCredentials(
  secrets: Pick<SecretsManagerClient, "send">,
  secretArn: string,
  registry: string,
): CredentialProvider {
  return async () => {
    let secret: string | undefined;
    try {
      // Lazy for the same measured reason as the ECR command above.
      const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
      const result = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      secret = (result as { SecretString?: string }).SecretString;
      rememberSecret(secret);
    } catch (error) {
      throw await awsFailure(
        `Unable to read the credentials for ${registry} from secret ${secretArn}`,
        error,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret ?? "");
    } catch {
      throw new RegistryAuthError(
        `Secret ${secretArn} (credentials for ${registry}) is not JSON; store {"username": "...", "password": "..."}`,
      );
    }
    const { username, password } = (parsed ?? {}) as { username?: unknown; password?: unknown };
    const missing = [
      typeof username === "string" && username !== "" ? undefined : "username",
      typeof password === "string" && password !== "" ? undefined : "password",
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new RegistryAuthError(
        `Secret ${secretArn} (credentials for ${registry}) has no ${missing.join(" and ")}; store {"username": "...", "password": "..."}`,
      );
    }
    remember(username as string, password as string);
    return { username: username as string, password: password as string };
  };
}

/** The password, and `user:password` (whose base64 is a Basic credential and a Docker `auth`). */
function remember(username: string, password: string): void {
  rememberSecret(password);
  rememberSecret(`${username}:${password}`);
}

/** Fixed credentials (the CLI's `--creds`, a docker config entry). */
export function staticCredentials(username: string, password: string): CredentialProvider {
  remember(username, password);
  return async () => ({ username, password });
}

/**
 * A provider that asks `provider` once, shares that call between concurrent callers, and asks again
 * only five minutes before the credentials expire (ECR tokens last 12 hours).
 */
export function cacheCredentials(provider: CredentialProvider, now: () => number): CredentialProvider {
  let cached: { value: Credentials | undefined; until: number } | undefined;
  let pending: Promise<Credentials | undefined> | undefined;
  const cachedProvider = async () => {
    if (cached && cached.until > now()) return cached.value;
    pending ??= provider().finally(() => {
      pending = undefined;
    });
    const value = await pending;
    const until = value?.expiresAt ? value.expiresAt.getTime() - 5 * 60_000 : Number.POSITIVE_INFINITY;
    cached = { value, until };
    return value;
  };
  return Object.assign(cachedProvider, { preemptive: provider.preemptive === true });
}
