import { callKotsadm, type KotsadmConnection, UNKNOWN_SLUG } from "./api.ts";
import { KotsApiError } from "./errors.ts";

/**
 * What kotsadm already holds: its app versions (GET /api/v1/app/{slug}/versions, pkg/handlers/app.go
 * GetAppVersionHistory) and the config of one version (GET /api/v1/app/{slug}/config/{sequence},
 * pkg/handlers/config.go CurrentAppConfig). Every config change is a new app version, so a retried
 * "set config" must first find out whether an earlier attempt already made one.
 */

/** One entry of kotsadm's version history (pkg/api/downstream/types DownstreamVersion), the fields read. */
export interface AppVersion {
  readonly sequence: number;
  /** pkg/store/types: pending, pending_preflight, deploying, deployed, failed, pending_config, … */
  readonly status: string;
  /** `Config Change` for a version a config call created. */
  readonly source?: string;
  /** When it was last marked current (deployed); the current version is the one marked last. */
  readonly deployedAt?: string;
  readonly hasFailingStrictPreflights?: boolean;
}

/** Where the target values already are, if anywhere. */
export type HeldVersion =
  /** The current version holds them and is deployed or being deployed: nothing to post. */
  | { readonly kind: "current"; readonly sequence: number; readonly status: "deployed" | "deploying" }
  /** An earlier call's version holds them and waits for strict preflights: kotsadm deploys it if they pass. */
  | { readonly kind: "awaitingPreflights"; readonly sequence: number; readonly status: string }
  /** An earlier call's version holds them and its strict preflights failed: posting again cannot help. */
  | { readonly kind: "failedPreflights"; readonly sequence: number; readonly status: string };

/** How many of the newest versions are read: the current one and the attempts above it are among them. */
const PAGE_SIZE = 20;

/**
 * kotsadm's versions (newest first by sequence).
 * @throws KotsApiError (an unknown slug: the config route's refusal, not retryable)
 */
export async function listAppVersions(
  fetcher: typeof fetch,
  connection: KotsadmConnection,
): Promise<AppVersion[]> {
  let answer: { versionHistory?: unknown } | undefined;
  try {
    answer = (await callKotsadm(fetcher, connection, {
      method: "GET",
      path: `/versions?currentPage=0&pageSize=${PAGE_SIZE}`,
      doing: "reading the app versions",
    })) as typeof answer;
  } catch (error) {
    // kotsadm answers an unknown slug here with a bare 500, which reads as retryable; its config route
    // names it ("failed to get app from app slug"), and that refusal is final.
    if (error instanceof KotsApiError && error.status === 500 && error.retryable) {
      const refusal = await configValuesAt(fetcher, connection, 0).then(
        () => undefined,
        (probe: unknown) =>
          probe instanceof KotsApiError && probe.kotsError === UNKNOWN_SLUG ? probe : undefined,
      );
      if (refusal) throw refusal;
    }
    throw error;
  }
  if (!Array.isArray(answer?.versionHistory)) {
    throw new KotsApiError("kotsadm answered the app versions without a versionHistory list", 200);
  }
  return (answer.versionHistory as Record<string, unknown>[])
    .filter((v) => typeof v?.sequence === "number" && typeof v.status === "string")
    .map((v) => ({
      sequence: v.sequence as number,
      status: v.status as string,
      ...(typeof v.source === "string" ? { source: v.source } : {}),
      ...(typeof v.deployedAt === "string" ? { deployedAt: v.deployedAt } : {}),
      ...(v.hasFailingStrictPreflights === true ? { hasFailingStrictPreflights: true } : {}),
    }))
    .sort((a, b) => b.sequence - a.sequence);
}

/**
 * The config item values of version `sequence` (item name → value as text; `true`/`false` for a bool).
 * @throws KotsApiError
 */
export async function configValuesAt(
  fetcher: typeof fetch,
  connection: KotsadmConnection,
  sequence: number,
): Promise<Record<string, string>> {
  const answer = (await callKotsadm(fetcher, connection, {
    method: "GET",
    path: `/config/${sequence}`,
    doing: `reading the config of app version ${sequence}`,
  })) as { configGroups?: unknown } | undefined;
  const values: Record<string, string> = {};
  const groups = Array.isArray(answer?.configGroups) ? answer.configGroups : [];
  for (const group of groups as { items?: unknown }[]) {
    for (const item of (Array.isArray(group?.items) ? group.items : []) as Record<string, unknown>[]) {
      if (typeof item?.name !== "string") continue;
      const value = item.value;
      if (typeof value === "string" || typeof value === "boolean" || typeof value === "number") {
        values[item.name] = String(value);
      }
    }
  }
  return values;
}

/** The version marked current last (the deployed one, or the one being deployed). */
export function currentVersion(versions: readonly AppVersion[]): AppVersion | undefined {
  let current: AppVersion | undefined;
  for (const v of versions) {
    if (!v.deployedAt) continue;
    const [a, b] = [Date.parse(v.deployedAt), current?.deployedAt ? Date.parse(current.deployedAt) : -1];
    if (!current || a > b || (a === b && v.sequence > current.sequence)) current = v;
  }
  return current;
}

const holds = (config: Record<string, string>, values: Record<string, string>) =>
  Object.entries(values).every(([key, value]) => config[key] === value);

/**
 * Whether kotsadm already holds `values` in a version that is deployed, being deployed, or waiting for
 * (or failed) its strict preflights after an earlier call — the cases where posting again would only add
 * another app version. Reads the config of the current version and of config-change versions above it.
 * @throws KotsApiError
 */
export async function findHeldVersion(
  fetcher: typeof fetch,
  connection: KotsadmConnection,
  values: Record<string, string>,
): Promise<HeldVersion | undefined> {
  const versions = await listAppVersions(fetcher, connection);
  const current = currentVersion(versions);
  if (current && (current.status === "deployed" || current.status === "deploying")) {
    if (holds(await configValuesAt(fetcher, connection, current.sequence), values)) {
      return { kind: "current", sequence: current.sequence, status: current.status };
    }
  }
  // Newer than the current one: a version an earlier call created whose deploy did not happen (yet).
  const attempts = versions.filter(
    (v) =>
      v.sequence > (current?.sequence ?? -1) &&
      v.source === "Config Change" &&
      (v.status === "pending_preflight" || (v.status === "pending" && v.hasFailingStrictPreflights)),
  );
  for (const v of attempts) {
    if (!holds(await configValuesAt(fetcher, connection, v.sequence), values)) continue;
    const kind = v.status === "pending_preflight" ? "awaitingPreflights" : "failedPreflights";
    return { kind, sequence: v.sequence, status: v.status };
  }
  return undefined;
}
