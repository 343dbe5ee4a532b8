import { stringify } from "yaml";
import { callKotsadm, type KotsadmConnection } from "./api.ts";

/**
 * Setting config values and deploying them, as `kubectl kots set config --merge --deploy` does
 * (POST /api/v1/app/{slug}/config/values, replicatedhq/kots pkg/handlers/config.go SetAppConfigValues).
 */

export interface SetConfigValues extends KotsadmConnection {
  /** Config item name → value. */
  readonly values: Record<string, string>;
}

/**
 * kotsadm's `validationErrors` (400: `[{name, title, item_errors: [{name, type, validation_errors:
 * [{message}]}]}]`, pkg/kotsadmconfig/types) as `item: message` lines.
 */
export function validationMessages(groups: unknown): string[] {
  if (!Array.isArray(groups)) return [];
  const lines: string[] = [];
  for (const group of groups as { name?: unknown; item_errors?: unknown }[]) {
    const items = Array.isArray(group?.item_errors) ? group.item_errors : [];
    for (const item of items as { name?: unknown; validation_errors?: unknown }[]) {
      const errors = Array.isArray(item?.validation_errors) ? item.validation_errors : [];
      for (const e of errors as { message?: unknown }[]) {
        lines.push(`${String(item?.name ?? group?.name ?? "?")}: ${String(e?.message ?? JSON.stringify(e))}`);
      }
    }
  }
  return lines;
}

/**
 * Merges `values` into the app's config and deploys the new version. Every successful call creates an
 * app version: callers check first (kots/versions.ts) so that a retry does not create another.
 * @throws KotsApiError: unreachable (retryable, `status` undefined) or refused (retryable only for a 5xx
 *   that is not kotsadm's own refusal). Its message never holds the auth string.
 */
export async function setConfigValues(fetcher: typeof fetch, request: SetConfigValues): Promise<void> {
  const { values } = request;
  const keys = Object.keys(values).join(", ");
  const document = stringify({
    apiVersion: "kots.io/v1beta1",
    kind: "ConfigValues",
    spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
  });
  await callKotsadm(fetcher, request, {
    method: "POST",
    path: "/config/values",
    doing: `setting ${keys}`,
    body: {
      // kotsadm takes the ConfigValues document as Go []byte, which JSON carries as base64.
      configValues: Buffer.from(document, "utf8").toString("base64"),
      merge: true,
      deploy: true,
      // Skips the non-strict preflights only: kotsadm runs strict ones whatever this says (README).
      skipPreflights: true,
      // Base the new version on the one deployed, never on a downloaded-but-undeployed update (kotsadm
      // ≥ v1.108.0 reads `current`; pointApplication refuses older ones); -1 is the latest for others.
      current: true,
      sequence: -1,
    },
    validation: validationMessages,
    hint: (_status, kotsError) =>
      kotsError === "failed to create new config"
        ? `kotsadm merges only items the app's current config values already hold: set each of ${keys} once in the Admin Console (or map the endpoint to another item in restore.application.point.keys)`
        : kotsError === "failed to deploy"
          ? "kotsadm created the new app version but did not deploy it: a strict preflight failed or the version is not deployable; see the version's preflight results in the Admin Console"
          : "the config values were refused",
  });
}
