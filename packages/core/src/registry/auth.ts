import type { ECRClient, GetAuthorizationTokenCommandOutput } from "@aws-sdk/client-ecr";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsFailure } from "./aws.ts";
import { RegistryAuthError } from "./errors.ts";
import type { CredentialProvider, Credentials } from "./transport.ts";

/**
 * Where a registry's credentials come from (go-containerregistry's `authn.Keychain`). The transport
 * calls a provider again only when what it returned expires.
 */

/**
 * ECR: `GetAuthorizationToken` in the registry's own region (the client passed must be for it) gives
 * a 12-hour Basic credential `AWS:<password>`, sent on the first request (ECR challenges Basic).
 */
export function ecrCredentials(ecr: Pick<ECRClient, "send">, registry: string): CredentialProvider {
  const provider = async () => {
    let data: GetAuthorizationTokenCommandOutput;
    try {
      // Loaded on first use: copies between non-ECR registries (and the CLI's start-up) skip the SDK.
      const { GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
      data = await ecr.send(new GetAuthorizationTokenCommand({}));
    } catch (error) {
      throw await awsFailure(`Unable to get an ECR authorization token for ${registry}`, error);
    }
    const auth = data.authorizationData?.[0];
    const decoded = auth?.authorizationToken
      ? Buffer.from(auth.authorizationToken, "base64").toString("utf8")
      : "";
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new RegistryAuthError(`ECR returned no usable authorization token for ${registry}`);
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
      const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
      const result = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      secret = (result as { SecretString?: string }).SecretString;
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
    return { username: username as string, password: password as string };
  };
}

/** Fixed credentials (the CLI's `--creds`, a docker config entry). */
export function staticCredentials(username: string, password: string): CredentialProvider {
  return async () => ({ username, password });
}
