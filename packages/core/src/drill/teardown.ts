import {
  type DBCluster,
  type DBInstance,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  paginateDescribeDBClusters,
  paginateDescribeDBInstances,
  type RDSClient,
} from "@aws-sdk/client-rds";
import {
  DeleteSecretCommand,
  paginateListSecrets,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { awsErrorCode } from "../aws/errors.ts";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "../tags.ts";
import type { KubeObject } from "../velero/kube.ts";
import { DrillTeardownFailedError } from "./errors.ts";
import type { DrillKube } from "./kube.ts";
import {
  DRILL_DB_PREFIX,
  DRILL_NAMESPACE_INFIX,
  drillSecretPrefix,
  isDrillId,
  isScratchDb,
  LABEL_DRILL,
  TAG_DRILL,
} from "./naming.ts";

/**
 * Teardown: finds a drill's scratch resources (or every drill's, for the leftovers of earlier drills)
 * by name and tag, and removes them — the scratch database without a final snapshot, its credentials
 * secret, the scratch namespaces, the Velero Restore and its hold ConfigMap. It reports what it removed,
 * and fails loudly (DrillTeardownFailed, naming each resource left and why) when it cannot remove one.
 * Running it twice is safe: what is already gone or going is not a problem.
 */

export interface TeardownDeps {
  readonly rds: Pick<RDSClient, "send">;
  readonly secrets: Pick<SecretsManagerClient, "send">;
  /** The target cluster, when the drill restores the application. */
  readonly kube?: DrillKube | undefined;
}

export interface TeardownScope {
  readonly stage: string;
  /** Now (a stuck Terminating namespace is measured against it); default the clock. */
  readonly now?: Date | undefined;
  /** One drill's resources; absent: every drill's (the leftovers a new drill removes first). */
  readonly drillId?: string | undefined;
  readonly veleroNamespace?: string | undefined;
}

export interface TeardownReport {
  /** `DB instance gitpod-dr-drill-…`, `namespace gitpod-drill-…`, … */
  readonly removed: readonly string[];
  /**
   * Scratch namespaces deleted and still `Terminating` (the namespace controller removes their objects
   * first): the drill waits for them and tears down again. Absent when none.
   */
  readonly terminating?: readonly string[];
}

/** A scratch namespace Terminating longer than this is stuck (a finalizer nobody removes): a problem. */
export const NAMESPACE_TERMINATION_LIMIT_MS = 15 * 60_000;

const tagsOf = (list?: { Key?: string | undefined; Value?: string | undefined }[]) =>
  Object.fromEntries((list ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
const ours = (identifier: string | undefined, tags: Record<string, string>, scope: TeardownScope) =>
  !!identifier &&
  isScratchDb(identifier) &&
  tags[TAG_CREATED_BY] === TAG_CREATED_BY_VALUE &&
  (!scope.drillId || identifier.startsWith(`${DRILL_DB_PREFIX}${scope.drillId}`));
const GONE = new Set([
  "DBInstanceNotFound",
  "DBInstanceNotFoundFault",
  "DBClusterNotFoundFault",
  "ResourceNotFoundException",
]);
const message = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const isTerminating = (ns: KubeObject) =>
  (ns.status as { phase?: string } | undefined)?.phase === "Terminating";

/** Every name under `-drill-<id>` in the scratch namespaces, by the drill-id pattern. */
const scratchNamespaceOf = (name: string, drillId?: string) => {
  const at = name.lastIndexOf(DRILL_NAMESPACE_INFIX);
  if (at <= 0) return false;
  const id = name.slice(at + DRILL_NAMESPACE_INFIX.length);
  return isDrillId(id) && (!drillId || id === drillId);
};

async function removeInstance(rds: TeardownDeps["rds"], db: DBInstance): Promise<void> {
  const id = db.DBInstanceIdentifier as string;
  if (db.DBInstanceStatus === "deleting") return;
  if (db.DeletionProtection) {
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: id,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
  }
  await rds.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: id,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    }),
  );
}

async function removeCluster(rds: TeardownDeps["rds"], db: DBCluster): Promise<void> {
  const id = db.DBClusterIdentifier as string;
  if (db.Status === "deleting") return;
  if (db.DeletionProtection) {
    await rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: id,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
  }
  await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true }));
}

/**
 * Removes the scope's scratch resources.
 * @throws DrillTeardownFailedError naming what is left (and `summary.removed`: what was removed)
 */
export async function tearDown(deps: TeardownDeps, scope: TeardownScope): Promise<TeardownReport> {
  const removed: string[] = [];
  const problems: string[] = [];
  const terminating: string[] = [];
  const attempt = async (what: string, run: () => Promise<unknown>) => {
    try {
      if ((await run()) !== false) removed.push(what);
    } catch (error) {
      if (GONE.has(awsErrorCode(error) ?? "")) return;
      problems.push(`${what}: ${message(error)}`);
    }
  };
  // Instances first (an Aurora cluster's writer must go before its cluster).
  try {
    const clusters: DBCluster[] = [];
    for await (const page of paginateDescribeDBClusters({ client: deps.rds as RDSClient }, {})) {
      clusters.push(
        ...(page.DBClusters ?? []).filter((c) => ours(c.DBClusterIdentifier, tagsOf(c.TagList), scope)),
      );
    }
    for await (const page of paginateDescribeDBInstances({ client: deps.rds as RDSClient }, {})) {
      for (const db of page.DBInstances ?? []) {
        if (!ours(db.DBInstanceIdentifier, tagsOf(db.TagList), scope)) continue;
        await attempt(`DB instance ${db.DBInstanceIdentifier}`, () => removeInstance(deps.rds, db));
      }
    }
    for (const c of clusters)
      await attempt(`DB cluster ${c.DBClusterIdentifier}`, () => removeCluster(deps.rds, c));
  } catch (error) {
    problems.push(`scratch databases could not be listed: ${message(error)}`);
  }
  try {
    const prefix = drillSecretPrefix(scope.stage) + (scope.drillId ?? "");
    for await (const page of paginateListSecrets(
      { client: deps.secrets as SecretsManagerClient },
      {
        Filters: [
          { Key: "tag-key", Values: [TAG_DRILL] },
          { Key: "name", Values: [prefix] },
        ],
      },
    )) {
      for (const s of page.SecretList ?? []) {
        if (!s.Name?.startsWith(prefix) || tagsOf(s.Tags)[TAG_CREATED_BY] !== TAG_CREATED_BY_VALUE) continue;
        await attempt(`secret ${s.Name}`, () =>
          deps.secrets.send(
            new DeleteSecretCommand({ SecretId: s.ARN ?? s.Name, ForceDeleteWithoutRecovery: true }),
          ),
        );
      }
    }
  } catch (error) {
    problems.push(`drill secrets could not be listed: ${message(error)}`);
  }
  const kube = deps.kube;
  if (kube) {
    const selector = scope.drillId ? `${LABEL_DRILL}=${scope.drillId}` : LABEL_DRILL;
    const velero = scope.veleroNamespace;
    try {
      if (velero) {
        for (const [kind, api] of [
          ["Restore", "velero.io/v1"],
          ["ConfigMap", "v1"],
        ] as const) {
          for (const o of await kube.listObjects(api, kind, velero, selector)) {
            await attempt(`${kind} ${velero}/${o.metadata.name}`, () =>
              kube.deleteObject(api, kind, velero, o.metadata.name),
            );
          }
        }
      }
      const scratch = async () =>
        ((await kube.listObjects("v1", "Namespace", undefined)) as KubeObject[]).filter((n) =>
          scratchNamespaceOf(n.metadata.name, scope.drillId),
        );
      for (const ns of await scratch()) {
        if (isTerminating(ns)) continue;
        await attempt(`namespace ${ns.metadata.name}`, () =>
          kube.deleteObject("v1", "Namespace", undefined, ns.metadata.name),
        );
      }
      // Deleted is not gone: the namespace controller removes the objects first.
      const now = (scope.now ?? new Date()).getTime();
      for (const ns of (await scratch()).filter(isTerminating)) {
        const since = new Date(ns.metadata.deletionTimestamp ?? Number.NaN);
        if (now - since.getTime() > NAMESPACE_TERMINATION_LIMIT_MS) {
          problems.push(
            `namespace ${ns.metadata.name}: Terminating since ${since.toISOString()} (an object's finalizer holds it)`,
          );
        } else terminating.push(ns.metadata.name);
      }
    } catch (error) {
      problems.push(`the cluster's drill objects could not be listed: ${message(error)}`);
    }
  }
  if (problems.length > 0) {
    throw new DrillTeardownFailedError(
      `Teardown${scope.drillId ? ` of drill ${scope.drillId}` : " of earlier drills"} left ${problems.length} resource(s) behind (removed: ${removed.join(", ") || "nothing"}): ${problems.join("; ")}. Remove them by hand; they are named gitpod-dr-drill-… / …-drill-… and tagged ${TAG_DRILL}`,
      problems,
      { removed },
    );
  }
  return { removed, ...(terminating.length > 0 ? { terminating } : {}) };
}
