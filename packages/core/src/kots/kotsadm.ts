import type { KubeOps } from "../velero/kube.ts";

/**
 * kotsadm as KOTS installs it, read from the cluster: a Deployment `kotsadm` (with MinIO) or a
 * StatefulSet `kotsadm` (without), its image taken from the container named `kotsadm` (as KOTS's own
 * `pkg/kotsadmsnapshot` finds it), never from the first container.
 */

export interface Kotsadm {
  readonly namespace: string;
  readonly kind: "Deployment" | "StatefulSet";
  /** Undefined when no container is named `kotsadm`. */
  readonly image?: string;
}

/**
 * The first kotsadm found in `namespaces`; undefined when none runs there.
 * @throws KubeApiError
 */
export async function findKotsadm(
  kube: KubeOps,
  namespaces: readonly string[],
): Promise<Kotsadm | undefined> {
  for (const namespace of namespaces) {
    const deployment = await kube.getDeployment(namespace, "kotsadm");
    const workload = deployment ?? (await kube.getStatefulSet(namespace, "kotsadm"));
    if (!workload) continue;
    const image = workload.spec?.template?.spec?.containers?.find((c) => c.name === "kotsadm")?.image;
    return { namespace, kind: deployment ? "Deployment" : "StatefulSet", ...(image ? { image } : {}) };
  }
  return undefined;
}

/** The first kotsadm that reads `current: true` of the config values call (replicatedhq/kots v1.108.0). */
export const CURRENT_SINCE = { major: 1, minor: 108, patch: 0, text: "v1.108.0" } as const;

export interface KotsadmVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/** kotsadm's version from its image tag (`kotsadm/kotsadm:v1.124.0`); undefined for a digest or `latest`. */
export function kotsadmVersion(image: string | undefined): KotsadmVersion | undefined {
  const tag = image?.replace(/@sha256:[a-f0-9]+$/, "").match(/:v?(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$/);
  if (!tag) return undefined;
  const [major, minor, patch] = [Number(tag[1]), Number(tag[2]), Number(tag[3])];
  return { major, minor, patch, text: `v${major}.${minor}.${patch}` };
}

/** Whether `v` is older than `than`. */
export function olderThan(v: KotsadmVersion, than: KotsadmVersion): boolean {
  return v.major !== than.major
    ? v.major < than.major
    : v.minor !== than.minor
      ? v.minor < than.minor
      : v.patch < than.patch;
}
