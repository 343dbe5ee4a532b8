/**
 * The simulated world of a rehearsal, seeded from the stage configuration's identifiers: the account
 * (account.ts), the primary and DR clusters (Kubernetes API simulators with Velero, RBAC of deploy/),
 * the fake kotsadm, and two local docker-registry instances standing in for the primary and DR
 * registries. The stage's endpoints that would leave the machine (registry hosts, the kotsadm URL) are
 * mapped onto these peers on 127.0.0.1; everything else is the user's configuration as written.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { catalogConfig } from "../../../core/src/config/catalog.ts";
import type { StageConfig } from "../../../core/src/config/stage.ts";
import { type FakeKotsadm, startFakeKotsadm } from "../kube/kotsadm.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../kube/server.ts";
import {
  deployment,
  eksAuthenticator,
  FUNCTION_USER,
  KOTSADM_IMAGE,
  RESTORE_USER,
  seedKotsadmAuth,
  seedVelero,
  statefulSet,
} from "../kube/velero-cluster.ts";
import { type RegistryServer, startRegistry } from "../registry/server.ts";
import { SimAccount } from "./account.ts";

export const DOCKER_REGISTRY = "/usr/bin/docker-registry";
/** The Kubernetes group deploy/rbac-drill.yaml binds (the drill function's). */
const DRILL_GROUP = "gitpod-dr-drill";
const ADMIN = { name: "rehearsal-admin", groups: ["system:masters", "system:authenticated"] };
/** The database Secret the application holds (the restore repoints it; never a real password). */
export const APP_DB_PASSWORD = "rehearsal-db-password-not-real";

export interface SimCluster {
  readonly name: string;
  readonly region: string;
  readonly api: KubeApi;
}

export interface SimWorld {
  readonly stage: string;
  /** The stage as the jobs see it: the user's, with off-machine endpoints mapped to local peers. */
  readonly config: StageConfig;
  readonly account: SimAccount;
  readonly primary: SimCluster;
  readonly dr?: SimCluster;
  readonly kotsadm?: FakeKotsadm;
  readonly registries?: { readonly primary: RegistryServer; readonly dr: RegistryServer };
  /** The bearer token of the clusters' admin (the kubeconfig `--keep` prints). */
  readonly adminToken: string;
  /** Notes for the report (what was mapped, what is not simulated). */
  readonly notes: string[];
  stop(): Promise<void>;
}

async function startCluster(
  name: string,
  region: string,
  config: StageConfig,
  clock: () => Date,
  adminToken: string,
): Promise<SimCluster> {
  // One principal for every function (they share the simulated credentials): the groups of
  // deploy/rbac.yaml (the backup job), deploy/rbac-restore.yaml (the restore) and deploy/rbac-drill.yaml.
  const groups = [...new Set([...FUNCTION_USER.groups, ...RESTORE_USER.groups, DRILL_GROUP])];
  const auth = eksAuthenticator({ cluster: name, region, user: { ...RESTORE_USER, groups } });
  const api = await startKubeApi({
    // The person looking around after a run (`--keep`) is the cluster's admin; the functions are not.
    authenticate: (token) => (token === adminToken ? ADMIN : auth.authenticate(token)),
    rbac: [...loadRbac(), ...loadRbac("deploy/rbac-restore.yaml"), ...loadRbac("deploy/rbac-drill.yaml")],
  });
  api.store.setNow(clock());
  seedVelero(api.store, { namespace: config.application?.velero.namespace ?? "velero" });
  const point = config.restore?.application.point;
  const namespace =
    point?.kind === "kots" ? point.namespace : (config.restore?.application.namespace ?? "gitpod");
  // KOTS runs in every cluster the application can run in (it applies the configuration after a restore).
  api.store.put(deployment(namespace, "kotsadm", { image: KOTSADM_IMAGE, labels: { app: "kotsadm" } }));
  seedKotsadmAuth(api.store);
  return { name, region, api };
}

/** The application as it runs in the primary cluster (what the Velero backups hold). */
function seedApplication(cluster: SimCluster, config: StageConfig): void {
  const namespace = config.restore?.application.namespace ?? "gitpod";
  const labels = config.restore?.application.holdSelector ?? { app: "gitpod" };
  const s = cluster.api.store;
  s.put(deployment(namespace, "server", { replicas: 1, labels: { ...labels, component: "server" } }));
  s.put(deployment(namespace, "proxy", { replicas: 2, labels: { ...labels, component: "proxy" } }));
  // Gitpod's object store and server configuration (the drill expects each of these kinds restored).
  s.put(statefulSet(namespace, "minio", { replicas: 1, labels: { ...labels, component: "minio" } }));
  s.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "server-config", namespace },
    data: { "config.json": "{}" },
  });
  const secret: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "database", namespace },
    type: "Opaque",
    data: Object.fromEntries(
      Object.entries({
        host: `${config.database.identifier}.c0ffee.${config.regions.primary}.rds.amazonaws.com`,
        port: "3306",
        password: APP_DB_PASSWORD,
      }).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    ),
  };
  s.put(secret);
}

/** The stage with registry hosts and the kotsadm URL mapped onto the local peers. */
function localStage(
  config: StageConfig,
  registries: { primary: string; dr: string } | undefined,
  kotsadmUrl: string | undefined,
  notes: string[],
): StageConfig {
  const hostMap = new Map<string, string>();
  for (const target of ["primary", "dr"] as const) {
    const host = config.restore?.targets[target]?.registry;
    if (host && registries) hostMap.set(host, registries[target]);
  }
  for (const rule of config.images?.rules ?? []) {
    for (const [host, side] of [
      [rule.source.registry, "primary"],
      [rule.destination.registry, "dr"],
    ] as const) {
      if (!hostMap.has(host) && registries && host.endsWith(`.${config.regions[side]}.amazonaws.com`)) {
        hostMap.set(host, registries[side]);
      }
    }
  }
  for (const [from, to] of hostMap) notes.push(`registry ${from} is simulated by docker-registry on ${to}`);
  const local = [...hostMap.values()];
  const images = config.images
    ? {
        ...config.images,
        rules: config.images.rules.flatMap((rule) => {
          const source = hostMap.get(rule.source.registry);
          const destination = hostMap.get(rule.destination.registry);
          if (!source || !destination) {
            notes.push(`image rule ${rule.name}: ${rule.source.registry} is outside the simulation; not run`);
            return [];
          }
          // ECR's push times do not exist in docker-registry: "the newest N" becomes every tag.
          const { newest, ...tags } = rule.tags ?? {};
          if (newest !== undefined) {
            notes.push(`image rule ${rule.name}: tags.newest needs ECR push times; every tag is synced`);
          }
          return [
            {
              ...rule,
              ...(rule.tags ? { tags } : {}),
              source: { ...rule.source, registry: source },
              destination: { ...rule.destination, registry: destination },
            },
          ];
        }),
        insecureRegistries: [...(config.images.insecureRegistries ?? []), ...local],
      }
    : undefined;
  const restore = config.restore
    ? {
        ...config.restore,
        targets: Object.fromEntries(
          Object.entries(config.restore.targets).map(([name, t]) => [
            name,
            t && {
              ...t,
              ...(t.registry && hostMap.has(t.registry) ? { registry: hostMap.get(t.registry) } : {}),
            },
          ]),
        ) as typeof config.restore.targets,
        application: {
          ...config.restore.application,
          ...(config.restore.application.point?.kind === "kots" && kotsadmUrl
            ? { point: { ...config.restore.application.point, url: kotsadmUrl } }
            : {}),
        },
        ...(config.restore.images
          ? {
              images: {
                ...config.restore.images,
                insecureRegistries: [...(config.restore.images.insecureRegistries ?? []), ...local],
              },
            }
          : {}),
      }
    : undefined;
  const point = config.restore?.application.point;
  if (kotsadmUrl && point?.kind === "kots") notes.push(`kotsadm ${point.url} is simulated on ${kotsadmUrl}`);
  return { ...config, ...(images ? { images } : {}), ...(restore ? { restore } : {}) } as StageConfig;
}

/** Every KMS key ARN the stage names. */
function kmsKeys(config: StageConfig): string[] {
  const keys = [config.dr.kmsKeyArn, config.database.kmsKeyArn];
  for (const t of Object.values(config.restore?.targets ?? {})) keys.push(t?.database.kmsKeyArn);
  return keys.filter((k): k is string => typeof k === "string");
}

export interface WorldOptions {
  readonly stage: string;
  readonly config: StageConfig;
  readonly clock: () => Date;
  /** Where the kotsadm the restore talks to runs: the restore's target cluster. */
  readonly kotsadmIn: "primary" | "dr";
}

/** Starts the world; on a failure, what was started is stopped again. */
export async function startWorld(options: WorldOptions): Promise<SimWorld> {
  const { stage, config, clock } = options;
  const notes: string[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const securityGroups: Record<string, string[]> = {};
    for (const [name, t] of Object.entries(config.restore?.targets ?? {})) {
      const region = name === "dr" ? config.regions.dr : config.regions.primary;
      securityGroups[region] = [...(securityGroups[region] ?? []), ...(t?.database.securityGroupIds ?? [])];
    }
    if (config.drill) {
      // The drill's own groups (its check function's and the scratch database's), where it restores.
      const region = config.drill.target === "dr" ? config.regions.dr : config.regions.primary;
      securityGroups[region] = [
        ...(securityGroups[region] ?? []),
        ...config.drill.vpc.securityGroupIds,
        ...config.drill.database.securityGroupIds,
      ];
    }
    const account = await SimAccount.start({
      regions: config.regions,
      catalogTable: catalogConfig(stage, config).tableName,
      kmsKeys: kmsKeys(config),
      securityGroups,
      clock,
    });
    stops.push(() => account.stop());
    const primaryName = config.application?.cluster.name ?? "gitpod";
    const adminToken = randomBytes(24).toString("base64url");
    const primary = await startCluster(primaryName, config.regions.primary, config, clock, adminToken);
    stops.push(() => primary.api.stop());
    seedApplication(primary, config);
    const drName = config.restore?.targets.dr?.cluster?.name;
    const dr = drName ? await startCluster(drName, config.regions.dr, config, clock, adminToken) : undefined;
    if (dr) stops.push(() => dr.api.stop());
    for (const c of [primary, dr]) {
      if (c) account.clusters.set(c.name, { url: c.api.url, caData: c.api.caData, region: c.region });
    }
    let registries: SimWorld["registries"];
    if (config.images || config.restore?.images) {
      if (existsSync(DOCKER_REGISTRY)) {
        const p = await startRegistry();
        stops.push(() => p.stop());
        // Deletes enabled: the image-missing scenario removes an image from the DR registry.
        const d = await startRegistry({ deleteEnabled: true });
        stops.push(() => d.stop());
        registries = { primary: p, dr: d };
      } else {
        notes.push(
          `${DOCKER_REGISTRY} is missing (apt-get install docker-registry): the image tier is not simulated`,
        );
      }
    }
    const kotsCluster = options.kotsadmIn === "dr" && dr ? dr : primary;
    const point = config.restore?.application.point;
    const kotsadm =
      point?.kind === "kots"
        ? await startFakeKotsadm({
            store: kotsCluster.api.store,
            namespace: point.namespace,
            apps: {
              [point.appSlug]: {
                values: {
                  db_host: `${config.database.identifier}.c0ffee.${config.regions.primary}.rds.amazonaws.com`,
                  store_region: config.regions.primary,
                  store_s3_bucket: config.storage?.buckets[0] ?? "gitpod",
                  reg_url: config.restore?.targets.primary?.registry ?? "registry",
                },
                items: ["db_host", "db_port", "store_s3_bucket", "store_region", "reg_url"],
              },
            },
          })
        : undefined;
    if (kotsadm) stops.push(() => kotsadm.stop());
    const local = localStage(
      config,
      registries ? { primary: registries.primary.host, dr: registries.dr.host } : undefined,
      kotsadm?.url,
      notes,
    );
    return {
      stage,
      config: local,
      account,
      primary,
      ...(dr ? { dr } : {}),
      ...(kotsadm ? { kotsadm } : {}),
      ...(registries ? { registries } : {}),
      notes,
      adminToken,
      stop: async () => {
        await Promise.allSettled(stops.reverse().map((s) => s()));
      },
    };
  } catch (error) {
    await Promise.allSettled(stops.reverse().map((s) => s()));
    throw error;
  }
}
