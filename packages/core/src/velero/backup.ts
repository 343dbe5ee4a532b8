import { applicationEntry, recordEntries } from "../catalog/record.ts";
import type { CatalogStore } from "../catalog/store.ts";
import type { ApplicationConfig } from "../config.ts";
import { findKotsadm } from "../kots/kotsadm.ts";
import type { JobLogger } from "../logger.ts";
import {
  VeleroBackupFailedError,
  VeleroBackupStuckError,
  VeleroBackupUnknownError,
  VeleroConflictError,
  VeleroPreflightError,
} from "./errors.ts";
import type { Deployment, KubeObject, KubeOps } from "./kube.ts";
import {
  backupName,
  LABEL_CREATED_BY,
  LABEL_CREATED_BY_VALUE,
  LABEL_WINDOW,
  OURS_SELECTOR,
  windowStamp,
} from "./naming.ts";
import { BACKUP_PHASES, newestFirst, type PhaseReport, phaseReport } from "./status.ts";
import { judgePrevious, type Verdict } from "./verdict.ts";

/**
 * The scheduled Velero backup: preflight, this window's `Backup` (idempotent by name), and a verdict
 * on the previous backup gitpod-dr made.
 */

export interface VeleroVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/** Velero's version from its server image tag (`velero/velero:v1.16.2`, `…/velero:v1.17.0-rc.1@sha256:…`). */
export function veleroVersionFromImage(image: string | undefined): VeleroVersion | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split("@")[0] as string;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", slash + 1);
  if (colon < 0) return undefined;
  const tag = withoutDigest.slice(colon + 1);
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(tag);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: tag };
}

/**
 * The image of Velero's server container: the container named `velero`, else the one whose image
 * repository is `velero` (never a sidecar's, whose tag is another program's version).
 */
export function veleroImage(deployment: Deployment): string | undefined {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const repository = (image: string | undefined) =>
    image
      ?.split("@")[0]
      ?.replace(/:[^:/]*$/, "")
      .split("/")
      .pop();
  return (
    containers.find((c) => c.name === "velero") ?? containers.find((c) => repository(c.image) === "velero")
  )?.image;
}

export interface PreflightResult {
  /** Undefined when Velero's image carries no version tag (digest-pinned, `latest`). */
  readonly version: VeleroVersion | undefined;
  /** Where kotsadm runs, when it was found in an application namespace (kind: how KOTS installed it). */
  readonly kots?: {
    readonly namespace: string;
    readonly kind: "Deployment" | "StatefulSet";
    readonly image: string;
  };
}

/**
 * Checks, each failing with what to fix: velero.io/v1 is served; Velero has a namespace of its own;
 * the storage location exists and is Available; Velero's version is known, and restic is not asked of
 * 1.17 or later.
 *
 * @throws VeleroPreflightError naming the check.
 */
export async function preflight(kube: KubeOps, app: ApplicationConfig): Promise<PreflightResult> {
  const v = app.velero;
  if (!(await kube.veleroApiServed())) {
    throw new VeleroPreflightError(
      "Velero is not installed in this cluster: the API group velero.io/v1 is not served. Install Velero (for KOTS: `kubectl kots velero ensure-permissions` after installing it) and run again",
      "velero-api",
    );
  }
  if (v.includedNamespaces.includes(v.namespace)) {
    throw new VeleroPreflightError(
      `Velero runs in ${v.namespace}, which is also an application namespace being backed up. Velero holds the backup store's credentials: install it in a namespace of its own and fence it with RBAC`,
      "namespace",
    );
  }
  const deployment = await kube.getDeployment(v.namespace, "velero");
  if (!deployment) {
    throw new VeleroPreflightError(
      `Velero's Deployment "velero" is not in namespace ${v.namespace}: set application.velero.namespace to the namespace Velero runs in`,
      "namespace",
    );
  }
  const location = await storageLocationProblem(kube, v.namespace, v.storageLocation, "write backups there");
  if (location) throw new VeleroPreflightError(location, "storage-location");
  const image = veleroImage(deployment);
  const version = veleroVersionFromImage(image);
  // The version matters only for restic (removed in 1.17); with kopia an untagged image is fine.
  if (!version && v.fsBackupUploader === "restic") {
    throw new VeleroPreflightError(
      `Velero's version is unknown (the image of its Deployment is "${image ?? "none"}", with no version tag), and the configuration asks for restic, which Velero 1.17 removed. Run Velero from a version-tagged image, or use kopia`,
      "version",
    );
  }
  if (
    version &&
    v.fsBackupUploader === "restic" &&
    (version.major > 1 || (version.major === 1 && version.minor >= 17))
  ) {
    throw new VeleroPreflightError(
      `The configuration asks for restic file-system backups, but Velero ${version.text} no longer has restic (removed in 1.17; KOTS pod-volume backups depended on it). Use kopia (application.velero.fsBackupUploader: "kopia") or run Velero 1.16`,
      "version",
    );
  }
  const kots = app.kots === "off" ? undefined : await findKotsadmImage(kube, v.includedNamespaces);
  if (app.kots === "on" && !kots) {
    throw new VeleroPreflightError(
      `application.kots is on, but no kotsadm Deployment or StatefulSet runs in ${v.includedNamespaces.join(", ")}: a backup without kots.io/kotsadm-image is one KOTS's restore accepts and does nothing with. Back up the namespace kotsadm runs in, or set application.kots to auto or off`,
      "kots",
    );
  }
  return { version, ...(kots ? { kots } : {}) };
}

/**
 * kotsadm in the backed-up namespaces (`kots/kotsadm.ts`).
 * @throws VeleroPreflightError when kotsadm is there without a `kotsadm` container: KOTS mode would be
 *   half on (KOTS's restore needs kots.io/kotsadm-image).
 */
async function findKotsadmImage(
  kube: KubeOps,
  namespaces: readonly string[],
): Promise<PreflightResult["kots"]> {
  const found = await findKotsadm(kube, namespaces);
  if (!found) return undefined;
  if (!found.image) {
    throw new VeleroPreflightError(
      `${found.kind} ${found.namespace}/kotsadm has no container named kotsadm with an image: a KOTS snapshot needs its image (kots.io/kotsadm-image) for KOTS to restore it. Fix the kotsadm install, or set application.kots to off`,
      "kots",
    );
  }
  return { namespace: found.namespace, kind: found.kind, image: found.image };
}

/** The annotations KOTS puts on an instance snapshot, so the Admin Console lists ours. */
export function kotsAnnotations(
  kots: { readonly namespace: string; readonly image?: string } | undefined,
  requestedAt: Date,
): Record<string, string> {
  return {
    "kots.io/instance": "true",
    "kots.io/snapshot-trigger": "schedule",
    "kots.io/snapshot-requested": requestedAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(kots?.namespace ? { "kots.io/kotsadm-deploy-namespace": kots.namespace } : {}),
    ...(kots?.image ? { "kots.io/kotsadm-image": kots.image } : {}),
  };
}

/** The `Backup` object for a window: deterministic name, our labels, the configured spec. */
export function buildBackup(
  app: ApplicationConfig,
  window: Date,
  annotations: Record<string, string> | undefined,
): KubeObject {
  const v = app.velero;
  return {
    apiVersion: "velero.io/v1",
    kind: "Backup",
    metadata: {
      name: backupName(window),
      namespace: v.namespace,
      labels: { [LABEL_CREATED_BY]: LABEL_CREATED_BY_VALUE, [LABEL_WINDOW]: windowStamp(window) },
      ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      includedNamespaces: v.includedNamespaces,
      ...(v.excludedNamespaces ? { excludedNamespaces: v.excludedNamespaces } : {}),
      ...(v.includedResources ? { includedResources: v.includedResources } : {}),
      ...(v.excludedResources ? { excludedResources: v.excludedResources } : {}),
      ttl: v.ttl,
      storageLocation: v.storageLocation,
      ...(v.snapshotVolumes !== undefined ? { snapshotVolumes: v.snapshotVolumes } : {}),
      ...(v.defaultVolumesToFsBackup !== undefined
        ? { defaultVolumesToFsBackup: v.defaultVolumesToFsBackup }
        : {}),
    },
  };
}

export { judgePrevious, type Verdict } from "./verdict.ts";

export interface VeleroBackupSummary {
  readonly cluster: string;
  readonly window: string;
  readonly dryRun: boolean;
  readonly backup: { readonly name: string; readonly created: boolean; readonly alreadyExisted: boolean };
  readonly veleroVersion: string;
  readonly kots: boolean;
  /** Where KOTS mode found kotsadm: `StatefulSet gitpod/kotsadm (image)`. */
  readonly kotsadm?: string;
  /** Why KOTS will not list this backup, when it will not. */
  readonly kotsWarning?: string;
  /** The previous backup made by gitpod-dr, as judged before this one. */
  readonly previous?: Omit<BackupListing, "expires">;
}

export interface VeleroBackupInput {
  readonly time: Date;
  readonly dryRun: boolean;
}

const describeAge = (ageMinutes: number | undefined) =>
  ageMinutes === undefined ? "age unknown (no creation time)" : `${ageMinutes} minutes old`;

function describeFailure(report: PhaseReport, ageMinutes: number | undefined): string {
  const parts = [
    `phase ${report.phase}`,
    `${report.errors} error(s), ${report.warnings} warning(s)`,
    ...(report.failureReason ? [`failure reason: ${report.failureReason}`] : []),
    ...(report.validationErrors.length > 0
      ? [`validation errors: ${report.validationErrors.join("; ")}`]
      : []),
    describeAge(ageMinutes),
  ];
  return parts.join(", ");
}

/**
 * One run of the backup job.
 * @throws VeleroPreflightError, VeleroConflictError, VeleroBackupFailedError (previous backup failed;
 *   this window's backup was still created), VeleroBackupStuckError (a previous backup not in a terminal
 *   phase past the deadline), VeleroBackupUnknownError (a previous backup in a phase Velero does not
 *   document, or unfinished with no creation time), KubeApiError.
 */
export async function runVeleroBackupJob(
  input: VeleroBackupInput,
  app: ApplicationConfig,
  kube: KubeOps,
  options: {
    readonly now?: () => Date;
    readonly logger?: JobLogger;
    /** The recovery-point catalog: the previous backup, once Completed, is recorded there. */
    readonly catalog?: CatalogStore;
  } = {},
): Promise<VeleroBackupSummary> {
  const now = options.now ?? (() => new Date());
  const checks = await preflight(kube, app);
  const withKots = app.kots === "on" || (app.kots === "auto" && checks.kots !== undefined);
  // KOTS lists instance snapshots only from a storage location named `default` (its kotsadmsnapshot
  // code looks that one up): say so, the backup itself is still good for gitpod-dr's restore.
  const kotsWarning =
    withKots &&
    app.velero.storageLocation !== "default" &&
    !(await kube.getVelero("backupstoragelocations", app.velero.namespace, "default"))
      ? `KOTS lists snapshots only from a Velero storage location named default, and ${app.velero.namespace} has none (this backup goes to ${app.velero.storageLocation}): the Admin Console will not show it`
      : undefined;
  if (kotsWarning) options.logger?.warn(kotsWarning);
  const desired = buildBackup(app, input.time, withKots ? kotsAnnotations(checks.kots, now()) : undefined);
  const name = desired.metadata.name;
  const namespace = app.velero.namespace;

  let created = false;
  let existing: KubeObject | undefined;
  if (input.dryRun) {
    existing = await kube.getVelero("backups", namespace, name);
  } else {
    const result = await kube.createVelero("backups", namespace, desired);
    created = result.created;
    if (!result.created) existing = result.object;
  }
  const alreadyExisted = existing !== undefined;
  if (existing && existing.metadata.labels?.[LABEL_CREATED_BY] !== LABEL_CREATED_BY_VALUE) {
    throw new VeleroConflictError(
      `A Backup named ${name} exists in ${namespace} but was not created by gitpod-dr (no ${LABEL_CREATED_BY} label); rename or delete it`,
    );
  }
  options.logger?.info(created ? "Created Velero backup" : "Velero backup already exists", { backup: name });

  const ours = await kube.listVelero("backups", namespace, OURS_SELECTOR);
  const verdict = judgePrevious(ours, name, now(), app.stuckAfterMinutes);
  const summary: VeleroBackupSummary = {
    cluster: app.cluster.name,
    window: windowStamp(input.time),
    dryRun: input.dryRun,
    backup: { name, created, alreadyExisted },
    veleroVersion: checks.version?.text ?? "unknown",
    kots: withKots,
    ...(withKots && checks.kots
      ? { kotsadm: `${checks.kots.kind} ${checks.kots.namespace}/kotsadm (${checks.kots.image})` }
      : {}),
    ...(kotsWarning ? { kotsWarning } : {}),
    ...(verdict.kind !== "none"
      ? {
          previous: {
            name: verdict.report.name,
            phase: verdict.report.phase,
            ...(verdict.ageMinutes !== undefined ? { ageMinutes: verdict.ageMinutes } : {}),
            errors: verdict.report.errors,
            warnings: verdict.report.warnings,
            ...(verdict.report.failureReason ? { failureReason: verdict.report.failureReason } : {}),
          },
        }
      : {}),
  };
  const thisWindow = `This window's backup ${name} was ${created ? "created" : "already there"}.`;
  if (verdict.kind === "failed") {
    throw Object.assign(
      new VeleroBackupFailedError(
        `The previous Velero backup ${verdict.report.name} on cluster ${app.cluster.name} did not complete: ${describeFailure(verdict.report, verdict.ageMinutes)}. See \`velero backup describe ${verdict.report.name} --details\` and \`velero backup logs ${verdict.report.name}\`. ${thisWindow}`,
      ),
      { summary },
    );
  }
  if (verdict.kind === "stuck") {
    throw Object.assign(new VeleroBackupStuckError(stuckMessage(verdict, app, thisWindow)), { summary });
  }
  if (verdict.kind === "unknown") {
    throw Object.assign(new VeleroBackupUnknownError(unknownMessage(verdict, app, thisWindow)), { summary });
  }
  // The previous backup, judged good, is the application tier's newest copy (this window's is running).
  const entry =
    verdict.kind === "good" && options.catalog && !input.dryRun
      ? applicationEntry(
          verdict.report,
          { cluster: app.cluster.name, storageLocation: app.velero.storageLocation },
          now(),
        )
      : undefined;
  if (entry && options.catalog) {
    await recordEntries(options.catalog, [entry], `The Velero backup job on ${app.cluster.name} finished`);
  }
  return summary;
}

const knownPhases = () => [...BACKUP_PHASES].join(", ");

function stuckMessage(
  verdict: Extract<Verdict, { kind: "stuck" }>,
  app: ApplicationConfig,
  thisWindow: string,
) {
  const { report } = verdict;
  const why = verdict.phaseSince
    ? `, counted from its expiry at ${verdict.phaseSince.toISOString()} (Velero's garbage collection deletes an expired backup; a deletion that fails leaves it Deleting: see \`kubectl -n ${app.velero.namespace} get deletebackuprequests\`)`
    : "";
  const unknown = BACKUP_PHASES.has(report.phase)
    ? ""
    : `; ${report.phase} is a phase gitpod-dr does not know (Velero documents ${knownPhases()}), so it is taken as not finished`;
  return `The previous Velero backup ${report.name} on cluster ${app.cluster.name} has been ${report.phase} for ${verdict.phaseMinutes} minutes (deadline ${app.stuckAfterMinutes})${why}${unknown}: check the Velero server's logs (kubectl -n ${app.velero.namespace} logs deploy/velero). ${thisWindow}`;
}

function unknownMessage(
  verdict: Extract<Verdict, { kind: "unknown" }>,
  app: ApplicationConfig,
  thisWindow: string,
) {
  const { report } = verdict;
  const subject = `The previous Velero backup ${report.name} on cluster ${app.cluster.name}`;
  const describe = `See \`velero backup describe ${report.name} --details\`.`;
  if (verdict.reason === "no-creation-time") {
    return `${subject} is ${report.phase} and has no creation time (metadata.creationTimestamp), so gitpod-dr cannot tell how long it has been running or whether it is stuck; the API server sets that field on every object, so see \`kubectl -n ${app.velero.namespace} get backup ${report.name} -o yaml\`. ${describe} ${thisWindow}`;
  }
  return `${subject} is in phase "${report.phase}", which Velero does not document (${knownPhases()}): gitpod-dr cannot tell whether it worked. It is ${describeAge(verdict.ageMinutes)}; still not in a terminal phase after ${app.stuckAfterMinutes} minutes, it is reported stuck. A newer Velero than gitpod-dr knows? ${describe} ${thisWindow}`;
}

export interface BackupListing {
  readonly name: string;
  readonly phase: string;
  /** Absent when the Backup has no creation time. */
  readonly ageMinutes?: number;
  readonly errors: number;
  readonly warnings: number;
  readonly failureReason?: string;
  readonly expires?: string;
}

/** gitpod-dr's backups in the Velero namespace, newest first, with phase and age (`velero-status`). */
export async function listOurBackups(
  kube: KubeOps,
  namespace: string,
  now: Date,
  limit = 10,
): Promise<BackupListing[]> {
  const backups = newestFirst(await kube.listVelero("backups", namespace, OURS_SELECTOR)).slice(0, limit);
  return backups.map((b) => {
    const r = phaseReport(b);
    const expiration = (b.status as { expiration?: unknown } | undefined)?.expiration;
    return {
      name: r.name,
      phase: r.phase,
      ...(r.createdAt
        ? { ageMinutes: Math.max(0, Math.floor((now.getTime() - r.createdAt.getTime()) / 60_000)) }
        : {}),
      errors: r.errors,
      warnings: r.warnings,
      ...(r.failureReason ? { failureReason: r.failureReason } : {}),
      ...(typeof expiration === "string" ? { expires: expiration } : {}),
    };
  });
}

/**
 * Why a BackupStorageLocation cannot be used, or undefined when it is `Available`: what the backup
 * job's preflight and the restore's plan both check before they create anything.
 * @param use what Velero must do with it, for the message ("write backups there", "read the backups there")
 */
export async function storageLocationProblem(
  kube: KubeOps,
  namespace: string,
  name: string,
  use: string,
): Promise<string | undefined> {
  const bsl = await kube.getVelero("backupstoragelocations", namespace, name);
  if (!bsl) {
    return `BackupStorageLocation ${name} does not exist in namespace ${namespace}: create it (velero backup-location create) or set application.velero.storageLocation`;
  }
  const status = (bsl.status ?? {}) as { phase?: string; message?: string };
  const phase = status.phase ?? "Unknown";
  if (phase === "Available") return undefined;
  return `BackupStorageLocation ${name} is ${phase}, not Available${status.message ? ` (${status.message})` : ""}: Velero cannot ${use}; check the bucket and Velero's credentials for it`;
}
