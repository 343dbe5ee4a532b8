import { redact } from "../notify/redact.ts";
import { rememberSecret } from "../notify/secrets.ts";
import { KotsApiError } from "./errors.ts";

/**
 * One call to kotsadm's API as the kots CLI makes it (replicatedhq/kots pkg/handlers/handlers.go,
 * session-authenticated routes): `Authorization: <kotsadm-authstring>`, JSON both ways. Every answer that
 * is not a 2xx becomes a KotsApiError whose message says what was being done, never the auth string.
 */

export interface KotsadmConnection {
  /** kotsadm's base URL. */
  readonly url: string;
  readonly appSlug: string;
  /** The `kotsadm-authstring` (sent as the Authorization header; never put into a message). */
  readonly auth: string;
}

export interface KotsadmCall {
  readonly method: "GET" | "POST";
  /** Below `/api/v1/app/{slug}`: `/versions`, `/config/values`. */
  readonly path: string;
  readonly body?: unknown;
  /** What the call does, for messages: `setting db_host`, `reading the app versions`. */
  readonly doing: string;
  /** A hint for a refusal the caller knows (kotsadm's `error` text); undefined for the generic one. */
  readonly hint?: (status: number, kotsError: string | undefined) => string | undefined;
  /** The lines of a 400's `validationErrors`, when the call may answer them. */
  readonly validation?: (groups: unknown) => string[];
}

/** kotsadm's refusal of a slug it does not know (pkg/handlers/config.go; a 500, not a 404). */
export const UNKNOWN_SLUG = "failed to get app from app slug";

/**
 * Our limit for one call. kotsadm may hold a deploying call much longer (strict preflights: up to 15
 * minutes, pkg/version isBlockedDueToStrictPreFlights) and go on after we stopped listening: that is why
 * pointing reads what kotsadm holds before it posts (restore/point.ts).
 */
const TIMEOUT_MS = 30_000;

/**
 * Makes `call` and returns kotsadm's JSON answer (undefined for an empty 2xx body).
 * @throws KotsApiError: unreachable or timed out (retryable, `status` undefined) or refused (retryable
 *   only for a 5xx that carries no `error` of kotsadm's own). Its message never holds the auth string.
 */
export async function callKotsadm(
  fetcher: typeof fetch,
  connection: KotsadmConnection,
  call: KotsadmCall,
): Promise<unknown> {
  const { url, appSlug, auth } = connection;
  const secrets = authForms(auth);
  for (const form of secrets) rememberSecret(form);
  const endpoint = `${url.replace(/\/+$/, "")}/api/v1/app/${encodeURIComponent(appSlug)}${call.path}`;
  let response: Response;
  let text: string;
  try {
    response = await fetcher(endpoint, {
      method: call.method,
      headers: {
        Authorization: auth,
        ...(call.body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new KotsApiError(
      `Unable to reach the kotsadm API at ${url}: ${redact((error as Error).message, secrets)}`,
      undefined,
      { cause: error, retryable: true },
    );
  }
  // The auth string is removed (in any case and encoding redact knows) before anything is cut, so no
  // part of it can survive a cut.
  const body = redact(text, secrets);
  let parsed: unknown;
  try {
    parsed = body === "" ? undefined : JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed;
  const answer = (parsed ?? {}) as { error?: unknown; validationErrors?: unknown };
  let kotsError = typeof answer.error === "string" && answer.error !== "" ? answer.error : undefined;
  const validation = call.validation?.(answer.validationErrors) ?? [];
  if (kotsError && validation.length > 0) kotsError = `${kotsError}: ${validation.join("; ")}`;
  const detail = (kotsError ?? body).slice(0, 500);
  const hint =
    response.status === 401
      ? "kotsadm refused its own auth string"
      : response.status === 404 || answer.error === UNKNOWN_SLUG
        ? `kotsadm has no app with slug ${appSlug}: check restore.application.point.appSlug`
        : (call.hint?.(response.status, answer.error as string | undefined) ?? "refused");
  throw new KotsApiError(
    `kotsadm answered ${response.status} to ${call.doing} (${hint})${detail ? `: ${detail}` : ""}`,
    response.status,
    // kotsadm answers 500 with an `error` for refusals that will not change (an unknown config key):
    // only a 5xx without one (a proxy, a restarting kotsadm) is worth retrying.
    {
      retryable: response.status >= 500 && kotsError === undefined,
      kotsError: typeof answer.error === "string" ? answer.error : undefined,
    },
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
