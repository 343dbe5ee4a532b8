/**
 * The restore harness's world (test code): the handlers as a cold start loads them, the simulated clusters,
 * kotsadm and AWS around them. The harness that runs the machine in it is ./harness.ts.
 */

import http from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { RDSClient } from "@aws-sdk/client-rds";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { vi } from "vitest";
import { type FakeKotsadm, startFakeKotsadm } from "../kube/kotsadm.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../kube/server.ts";
import {
  CREDENTIALS,
  deployment,
  eksAuthenticator,
  KOTSADM_IMAGE,
  RESTORE_USER,
  seedBackup,
  seedKotsadmAuth,
  seedSecret,
  seedVelero,
} from "../kube/velero-cluster.ts";
import { copyOf, FAKE_VPC, FakeAws, type FakeRdsRegion, ours } from "../rds/fake-rds.ts";

import {
  BACKED_UP_REPLICAS,
  BACKUP,
  DATABASE,
  DR,
  DR_CLUSTER,
  DR_SG,
  jobConfigJson,
  KOTS_PROXY_REPLICAS,
  OLD_DB,
  OLDER_BACKUP,
  OLDER_SNAPSHOT_TIME,
  PRIMARY,
  PRIMARY_CLUSTER,
  PRIMARY_REGISTRY,
  PRIMARY_SG,
  SNAPSHOT_TIME,
  SOURCE_BUCKET,
  STAGE,
  type StageOptions,
  TOPIC_ARN,
} from "./stage.ts";

// ---------------------------------------------------------------------------------------------------
// The world: clusters, kotsadm, AWS
// ---------------------------------------------------------------------------------------------------

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface Handlers {
  plan: LambdaHandler;
  database: LambdaHandler;
  image: LambdaHandler;
  application: LambdaHandler;
  notify: LambdaHandler;
}

/** The handlers as a cold start loads them, with the environment the stack gives them. */
export async function loadHandlers(configJson: string): Promise<Handlers> {
  vi.stubEnv("GITPOD_DR_STAGE", STAGE);
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC_ARN);
  vi.stubEnv("GITPOD_DR_CONFIG", configJson);
  vi.stubEnv("AWS_REGION", PRIMARY);
  vi.stubEnv("AWS_ACCESS_KEY_ID", CREDENTIALS.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secretAccessKey);
  vi.stubEnv("AWS_SESSION_TOKEN", CREDENTIALS.sessionToken as string);
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  vi.resetModules();
  const [plan, database, image, application, notify] = await Promise.all([
    import("../../../functions/src/restore-plan.ts"),
    import("../../../functions/src/restore-database.ts"),
    import("../../../functions/src/restore-image.ts"),
    import("../../../functions/src/restore-application.ts"),
    import("../../../functions/src/restore-notify.ts"),
  ]);
  const h = (m: { handler: unknown }) => m.handler as LambdaHandler;
  return {
    plan: h(plan),
    database: h(database),
    image: h(image),
    application: h(application),
    notify: h(notify),
  };
}

export interface Cluster {
  api: KubeApi;
  name: string;
  region: string;
}

/** A cluster where the application ran and was backed up (BACKUP holds its gitpod namespace). */
async function startCluster(name: string, region: string, withApplication: boolean): Promise<Cluster> {
  const auth = eksAuthenticator({ cluster: name, region, user: RESTORE_USER });
  const api = await startKubeApi({
    authenticate: auth.authenticate,
    rbac: [...loadRbac(), ...loadRbac("deploy/rbac-restore.yaml")],
  });
  api.store.setNow("2026-11-27T09:00:00Z");
  seedVelero(api.store);
  const s = api.store;
  // The application as it was backed up.
  const server = deployment("gitpod", "server", {
    replicas: BACKED_UP_REPLICAS.server,
    labels: { app: "gitpod", component: "server" },
  });
  const proxy = deployment("gitpod", "proxy", {
    replicas: BACKED_UP_REPLICAS.proxy,
    labels: { app: "gitpod", component: "proxy" },
  });
  const dbSecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "database", namespace: "gitpod" },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(OLD_DB).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  } satisfies KubeObject;
  // kotsadm runs (it applies the configuration); the application itself is what the backup brings back.
  s.put(deployment("gitpod", "kotsadm", { image: KOTSADM_IMAGE, labels: { app: "kotsadm" } }));
  seedKotsadmAuth(s);
  api.velero.setBackupContents(BACKUP, [server, proxy, dbSecret]);
  seedBackup(s, OLDER_BACKUP, { createdAt: "2026-11-25T02:00:05Z", phase: "Completed", ours: true });
  seedBackup(s, BACKUP, { createdAt: "2026-11-26T02:00:05Z", phase: "Completed", ours: true });
  seedBackup(s, "gitpod-dr-2026-11-27-0200", {
    createdAt: "2026-11-27T02:00:05Z",
    phase: "Failed",
    ours: true,
    status: { failureReason: "node drained" },
  });
  seedBackup(s, "gitpod-dr-2026-11-27-0800", {
    createdAt: "2026-11-27T08:00:05Z",
    phase: "InProgress",
    ours: true,
  });
  seedBackup(s, "manual-before-upgrade", { createdAt: "2026-11-26T12:00:00Z", phase: "Completed" });
  if (withApplication) {
    // Not wiped: a restore into a cluster where the application still runs (unused by default).
    for (const obj of [server, proxy]) s.put(obj);
    seedSecret(s, "gitpod", "database", OLD_DB);
  }
  return { api, name, region };
}

export interface PublishedMessage {
  subject: string;
  message: string;
}

export interface WorldOptions {
  stage?: StageOptions;
  /** Where kotsadm runs (the cluster a restore into that target points). Default primary. */
  kotsadmIn?: "primary" | "dr";
  /** Start a health endpoint and configure it as restore.application.healthUrl. Default true. */
  health?: boolean;
}

/** Everything a restore talks to, fresh, and the handlers loaded against it. */
export class RestoreWorld {
  readonly aws = new FakeAws(() => new Date());
  readonly rdsPrimary: FakeRdsRegion;
  readonly rdsDr: FakeRdsRegion;
  readonly eks = mockClient(EKSClient);
  readonly ec2 = mockClient(EC2Client);
  readonly sns = mockClient(SNSClient);
  readonly cloudwatch = mockClient(CloudWatchClient);
  /** Security groups that exist, per region. */
  readonly securityGroups: Record<string, Set<string>> = {
    [PRIMARY]: new Set([PRIMARY_SG]),
    [DR]: new Set([DR_SG]),
  };
  primary!: Cluster;
  dr!: Cluster;
  kotsadm!: FakeKotsadm;
  handlers!: Handlers;
  configJson = "";
  healthHits = 0;
  #health?: http.Server;
  #healthUrl?: string;
  #rdsSpy?: { mockRestore: () => void };

  constructor() {
    this.rdsPrimary = this.aws.region(PRIMARY);
    this.rdsDr = this.aws.region(DR);
  }

  static async start(options: WorldOptions = {}): Promise<RestoreWorld> {
    const world = new RestoreWorld();
    await world.#start(options);
    return world;
  }

  async #start(options: WorldOptions): Promise<void> {
    // RDS: the handlers build their own RDSClient per region; each call goes to that region's fake.
    const regions: Record<string, FakeRdsRegion> = { [PRIMARY]: this.rdsPrimary, [DR]: this.rdsDr };
    const spy = vi.spyOn(RDSClient.prototype, "send");
    spy.mockImplementation(async function (this: RDSClient, command: unknown) {
      const region = await this.config.region();
      const fake = regions[region];
      if (!fake) throw new Error(`fake RDS: no region ${region}`);
      return (fake.client.send as (c: unknown) => Promise<unknown>)(command);
    } as never);
    this.#rdsSpy = spy;
    this.#seedRds();

    this.primary = await startCluster(PRIMARY_CLUSTER, PRIMARY, false);
    this.dr = await startCluster(DR_CLUSTER, DR, false);
    const clusters: Record<string, Cluster> = { [PRIMARY_CLUSTER]: this.primary, [DR_CLUSTER]: this.dr };
    for (const c of Object.values(clusters)) {
      this.eks.on(DescribeClusterCommand, { name: c.name }).resolves({
        cluster: {
          name: c.name,
          endpoint: c.api.url,
          certificateAuthority: { data: c.api.caData },
          status: "ACTIVE",
        },
      });
    }
    this.ec2.on(DescribeSecurityGroupsCommand).callsFake(async (input, getClient) => {
      const region = await getClient().config.region();
      const ids = (input.Filters?.[0]?.Values ?? []) as string[];
      return {
        SecurityGroups: ids
          .filter((id) => this.securityGroups[region]?.has(id))
          // Every security group is in the VPC of the fake's subnet groups.
          .map((GroupId) => ({ GroupId, VpcId: FAKE_VPC })),
      };
    });
    this.cloudwatch.on(GetMetricDataCommand).callsFake(() => ({
      MetricDataResults: [
        {
          Id: "b0",
          Timestamps: [new Date(Date.now() - 300_000)],
          Values: [420],
        },
      ],
    }));
    let n = 0;
    this.sns.on(PublishCommand).callsFake(() => ({ MessageId: `m-${++n}` }));

    const kotsCluster = options.kotsadmIn === "dr" ? this.dr : this.primary;
    this.kotsadm = await startFakeKotsadm({
      store: kotsCluster.api.store,
      apps: {
        gitpod: {
          // As a KOTS install holds them: kotsadm merges only items its current values hold.
          values: {
            db_host: OLD_DB.host,
            store_s3_bucket: SOURCE_BUCKET,
            store_region: PRIMARY,
            reg_url: PRIMARY_REGISTRY,
          },
          items: ["db_host", "db_port", "store_s3_bucket", "store_region", "reg_url"],
        },
      },
      // KOTS's manifests want 3 proxies (the backup has 2): its deploy scales proxy up while the
      // restore's scheduling gate still holds every pod (kubectl apply keeps the gate).
      workloads: { replicas: { proxy: KOTS_PROXY_REPLICAS } },
    });
    if (options.health !== false) {
      this.#health = http.createServer((_req, res) => {
        this.healthHits += 1;
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end('{"version":"2024.11.0"}');
      });
      await new Promise<void>((resolve) => this.#health?.listen(0, "127.0.0.1", resolve));
      this.#healthUrl = `http://127.0.0.1:${(this.#health.address() as AddressInfo).port}/api/version`;
    }
    const stage: StageOptions = {
      ...(options.stage ?? {}),
      point: options.stage?.point ?? { kind: "kots", url: this.kotsadm.url },
      ...(this.#healthUrl ? { healthUrl: this.#healthUrl } : {}),
    };
    this.configJson = jobConfigJson(stage);
    this.handlers = await loadHandlers(this.configJson);
  }

  #seedRds(): void {
    const p = this.rdsPrimary;
    const d = this.rdsDr;
    p.databases.push({
      kind: "instance",
      identifier: DATABASE,
      encrypted: true,
      status: "available",
      endpoint: { address: OLD_DB.host, port: 3306 },
    });
    const newest = ours(DATABASE, SNAPSHOT_TIME, { kmsKeyId: undefined, encrypted: false });
    const older = ours(DATABASE, OLDER_SNAPSHOT_TIME, { kmsKeyId: undefined, encrypted: false });
    p.add("instance", older);
    p.add("instance", newest);
    // Newer, but not usable: one of ours still being created, and one somebody else made.
    p.add(
      "instance",
      ours(DATABASE, new Date("2026-11-27T03:00:00Z"), { status: "creating", kmsKeyId: undefined }),
    );
    p.add("instance", {
      identifier: "before-upgrade",
      databaseIdentifier: DATABASE,
      status: "available",
      type: "manual",
      createdAt: new Date("2026-11-27T06:00:00Z"),
      tags: { team: "platform" },
      encrypted: false,
    });
    // The DR region: the copy of the older snapshot is available; the newest one's copy is still pending.
    d.add("instance", copyOf(p, "instance", older));
    d.add("instance", copyOf(p, "instance", newest, { status: "pending" }));
    p.subnetGroups.add("gitpod-db");
    d.subnetGroups.add("gitpod-db");
  }

  /** The Published messages, in order. */
  published(): PublishedMessage[] {
    return this.sns.commandCalls(PublishCommand).map((c) => ({
      subject: c.args[0].input.Subject ?? "",
      message: c.args[0].input.Message ?? "",
    }));
  }

  /** The restored DB instance's identifier for a restore id. */
  restoredIdentifier(restoreId: string): string {
    return `gitpod-dr-${DATABASE}-r-${restoreId.toLowerCase()}`;
  }

  async stop(): Promise<void> {
    this.#rdsSpy?.mockRestore();
    for (const m of [this.eks, this.ec2, this.sns, this.cloudwatch, this.rdsPrimary.mock, this.rdsDr.mock]) {
      m.restore();
    }
    vi.unstubAllEnvs();
    await Promise.all([
      this.primary?.api.stop(),
      this.dr?.api.stop(),
      this.kotsadm?.stop(),
      this.#health
        ? new Promise<void>((resolve) => {
            this.#health?.close(() => resolve());
            this.#health?.closeAllConnections();
          })
        : undefined,
    ]);
  }
}
