import { stringify } from "yaml";
import { redact } from "../notify/redact.ts";
import { rememberSecret } from "../notify/secrets.ts";
import { KotsApiError } from "./errors.ts";

/**
 * The one kotsadm API call gitpod-dr makes: set config values and deploy, as
 * `kubectl kots set config --merge --deploy` does (POST /api/v1/app/{slug}/config/values).
 */

export interface SetConfigValues {
  /** kotsadm's base URL. */
  readonly url: string;
  readonly appSlug: string;
  /** The `kotsadm-authstring` (sent as the Authorization header; never put into a message). */
  readonly auth: string;
  /** Config item name → value. */
  readonly values: Record<string, string>;
}

/**
 * kotsadm's `validationErrors` (400: groups of items, each with messages) as `item: message` lines.
 */
function validationMessages(groups: unknown): string[] {
  if (!Array.isArray(groups)) return [];
  const lines: string[] = [];
  for (const group of groups as { name?: unknown; items?: unknown; validationErrors?: unknown }[]) {
    const items = Array.isArray(group?.items) ? group.items : [group];
    for (const item of items as { name?: unknown; validationErrors?: unknown }[]) {
      const errors = Array.isArray(item?.validationErrors) ? item.validationErrors : [];
      for (const e of errors as { message?: unknown }[]) {
        lines.push(`${String(item?.name ?? group?.name ?? "?")}: ${String(e?.message ?? JSON.stringify(e))}`);
      }
    }
  }
  return lines;
}

/**
 * Merges `values` into the app's config and deploys the new version.
 * @throws KotsApiError: unreachable (retryable, `status` undefined) or refused (retryable only for a 5xx
 *   that is not kotsadm's own refusal). Its message never holds the auth string.
 */
export async function setConfigValues(fetcher: typeof fetch, request: SetConfigValues): Promise<void> {
  const { url, appSlug, auth, values } = request;
  const secrets = authForms(auth);
  for (const form of secrets) rememberSecret(form);
  const document = stringify({
    apiVersion: "kots.io/v1beta1",
    kind: "ConfigValues",
    spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
  });
  const endpoint = `${url.replace(/\/+$/, "")}/api/v1/app/${encodeURIComponent(appSlug)}/config/values`;
  let response: Response;
  try {
    response = await fetcher(endpoint, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/json" },
      // kotsadm takes the ConfigValues document as Go []byte, which JSON carries as base64.
      body: JSON.stringify({
        configValues: Buffer.from(document, "utf8").toString("base64"),
        merge: true,
        deploy: true,
        skipPreflights: true,
        // Base the new version on the one deployed, never on a downloaded-but-undeployed update (kotsadm
        // ≥ v1.108.0 reads `current`; pointApplication refuses older ones); -1 is the latest for others.
        current: true,
        sequence: -1,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new KotsApiError(
      `Unable to reach the kotsadm API at ${url}: ${redact((error as Error).message, secrets)}`,
      undefined,
      {
        cause: error,
        retryable: true,
      },
    );
  }
  if (response.ok) return;
  // The auth string is removed (in any case and encoding redact knows) before anything is cut, so no
  // part of it can survive a cut.
  const body = redact(await response.text().catch(() => ""), secrets);
  let kotsError: string | undefined;
  let validation: string[] = [];
  try {
    const parsed = JSON.parse(body) as { error?: unknown; validationErrors?: unknown };
    if (typeof parsed?.error === "string" && parsed.error !== "") kotsError = parsed.error;
    validation = validationMessages(parsed?.validationErrors);
  } catch {}
  if (kotsError && validation.length > 0) kotsError = `${kotsError}: ${validation.join("; ")}`;
  const detail = (kotsError ?? body).slice(0, 500);
  // kotsadm answers 500 (not 404) for an unknown slug (pkg/handlers/config.go).
  const hint =
    response.status === 401
      ? "kotsadm refused its own auth string"
      : response.status === 404 || kotsError === "failed to get app from app slug"
        ? `kotsadm has no app with slug ${appSlug}: check restore.application.point.appSlug`
        : kotsError === "failed to create new config"
          ? `kotsadm merges only items the app's current config values already hold: set each of ${Object.keys(values).join(", ")} once in the Admin Console (or map the endpoint to another item in restore.application.point.keys)`
          : "the config values were refused";
  throw new KotsApiError(
    `kotsadm answered ${response.status} to setting ${Object.keys(values).join(", ")} (${hint})${detail ? `: ${detail}` : ""}`,
    response.status,
    // kotsadm answers 500 with an `error` for refusals that will not change (an unknown config key):
    // only a 5xx without one (a proxy, a restarting kotsadm) is worth retrying.
    { retryable: response.status >= 500 && kotsError === undefined },
  );
}

/**
 * The auth string as kotsadm or a proxy may quote it back: whole (`Kots <ksuid>`), the value without its
 * scheme, and both in lower case; {@link redact} adds the encodings (base64, URL, JSON).
 */
function authForms(auth: string): string[] {
  const bare = auth.replace(/^kots\s+/i, "");
  return [...new Set([auth, bare, auth.toLowerCase(), bare.toLowerCase()])];
}
