/**
 * DRILL WORLD — test code. Everything the drill's real task handlers talk to, for one drill run:
 * - RDS: the fake RDS of the DR region (`rds/fake-rds.ts`, with the drill's commands of `./rds.ts`)
 *   holding the recovery point's snapshot copy; a restored scratch database's endpoint is the real
 *   MariaDB of the test file (`./mariadb.ts`), loaded with Gitpod-shaped tables, whose `gitpod` user's
 *   password is what the drill sets through ModifyDBInstance.
 * - Secrets Manager and S3: moto_server (an independent implementation; the test file starts it and
 *   passes its endpoint), reached through `AWS_ENDPOINT_URL_*` by the handlers' own clients.
 * - The catalog: dynalite (`catalog/dynalite.ts`), a table per world, seeded with one complete recovery point.
 * - The cluster: the Kubernetes API simulator with Velero (`kube/*`), RBAC of deploy/rbac-drill.yaml,
 *   EKS tokens verified and mapped to the drill's group.
 * - The images: Debian's docker-registry (`registry/server.ts`), the recovery point's digest pushed there.
 * - SNS, CloudWatch PutMetricData and EKS DescribeCluster: aws-sdk-client-mock (SNS messages captured).
 */
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { vi } from "vitest";
import { CatalogStore } from "../../../core/src/catalog/store.ts";
import { catalogConfig } from "../../../core/src/config/catalog.ts";
import { drillJobConfig } from "../../../core/src/config/drill.ts";
import { parseStageConfig } from "../../../core/src/config/stage.ts";
import { createCatalogTable } from "../catalog/dynalite.ts";
import { applicationEntry, bucketEntry, databaseEntry, imagesEntry } from "../catalog/entries.ts";
import { type KubeApi, type KubeUser, loadRbac, startKubeApi } from "../kube/server.ts";
import {
  backupContentsOf,
  CREDENTIALS,
  eksAuthenticator,
  seedBackup,
  seedGitpod,
  seedSecret,
  seedVelero,
  statefulSet,
} from "../kube/velero-cluster.ts";
import { FakeAws, type FakeRdsRegion, ours } from "../rds/fake-rds.ts";
import { DR, DR_CLUSTER, PRIMARY, REPLICA_BUCKET, SOURCE_BUCKET, stageConfig } from "../restore/harness.ts";
import { ACCOUNT } from "../synth.ts";
import { gitpodSchema, type MariaDb } from "./mariadb.ts";
import { type DrillRds, MASTER_USER, serveDrillRds } from "./rds.ts";

export { DR, REPLICA_BUCKET, SOURCE_BUCKET };
export const STAGE = "drillsim";
export const DATABASE = "gitpod-db";
export const BACKUP = "gitpod-dr-2026-12-06-0200";
export const IMAGE_REPO = "gitpod/server";
export const IMAGE_TAG = "2024.11.0";
export const TOPIC_ARN = `arn:aws:sns:${DR}:${ACCOUNT}:gitpod-dr-${STAGE}-alerts`;
/** The user EKS maps the drill function's role to (deploy/rbac-drill.yaml's group). */
export const DRILL_USER: KubeUser = {
  name: `arn:aws:sts::${ACCOUNT}:assumed-role/gitpod-dr-drill/fn`,
  groups: ["gitpod-dr-drill", "system:authenticated"],
};
const HOUR = 3_600_000;

/** What the test file starts once and every world shares. */
export interface SharedPeers {
  readonly motoEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly mariadb: MariaDb;
  /** The target registry ("127.0.0.1:PORT") and the digest of IMAGE_REPO:IMAGE_TAG in it. */
  readonly registry: { readonly host: string; readonly digest: string };
}

export interface WorldOptions {
  /** Row counts of the scratch database's tables (default 3 users, 5 workspaces, 8 instances). */
  readonly rows?: { users: number; workspaces: number; instances: number };
  /** The digest the recovery point records for the image (default: the registry's). */
  readonly imageDigest?: string;
}

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
let worlds = 0;

/** One drill's world: fresh fakes and cluster, a new catalog table, the handlers loaded against it. */
export class DrillWorld {
  readonly aws = new FakeAws(() => new Date());
  readonly rds: FakeRdsRegion = this.aws.region(DR);
  readonly sns = mockClient(SNSClient);
  readonly cloudwatch = mockClient(CloudWatchClient);
  readonly eks = mockClient(EKSClient);
  /** When the recovery point's data is from (3 hours ago: the drill runs on the real clock). */
  readonly recoveryTime = new Date(Math.floor((Date.now() - 3 * HOUR) / 60_000) * 60_000);
  readonly snapshot = `gitpod-dr-${DATABASE}-drill-point`;
  serving!: DrillRds;
  cluster!: KubeApi;
  tableName = "";
  handlers!: { drill: LambdaHandler; database: LambdaHandler };

  private constructor(readonly peers: SharedPeers) {}

  static async start(peers: SharedPeers, options: WorldOptions = {}): Promise<DrillWorld> {
    const world = new DrillWorld(peers);
    await world.#start(options);
    return world;
  }

  async #start(options: WorldOptions): Promise<void> {
    this.serving = serveDrillRds({ [DR]: this.rds });
    this.rds.subnetGroups.add("gitpod-db");
    this.rds.add(
      "instance",
      ours(DATABASE, this.recoveryTime, { identifier: this.snapshot, kmsKeyId: undefined, encrypted: true }),
    );
    const db = this.peers.mariadb;
    // The "snapshot's" data and its master user with production's password (the drill never knows it).
    const newest = new Date(this.recoveryTime.getTime() - HOUR);
    await db.sql(
      `DROP DATABASE IF EXISTS gitpod; ${gitpodSchema("gitpod", newest, options.rows)}
       CREATE TABLE d_b_team (id char(36) NOT NULL PRIMARY KEY); INSERT INTO d_b_team VALUES ('t0');
       CREATE USER IF NOT EXISTS '${MASTER_USER}'@'%' IDENTIFIED BY 'production-password-1' REQUIRE SSL;
       ALTER USER '${MASTER_USER}'@'%' IDENTIFIED BY 'production-password-1' REQUIRE SSL;
       GRANT SELECT ON gitpod.* TO '${MASTER_USER}'@'%';`,
    );
    this.serving.onPassword = async (_db, password) => {
      await db.sql(`ALTER USER '${MASTER_USER}'@'%' IDENTIFIED BY '${password.replace(/'/g, "''")}';`);
    };
    await this.#startCluster();
    this.#mockAws();
    await this.#seedCatalog(options.imageDigest ?? this.peers.registry.digest);
    await this.#loadHandlers();
  }

  async #startCluster(): Promise<void> {
    const auth = eksAuthenticator({ cluster: DR_CLUSTER, region: DR, user: DRILL_USER });
    this.cluster = await startKubeApi({
      authenticate: auth.authenticate,
      rbac: loadRbac("deploy/rbac-drill.yaml"),
      namespaceFinalization: "controller",
    });
    const s = this.cluster.store;
    seedVelero(s);
    seedGitpod(s);
    s.put(statefulSet("gitpod", "minio", { replicas: 1, labels: { app: "gitpod", component: "minio" } }));
    seedSecret(s, "gitpod", "database", { host: "gitpod-db.prod", port: "3306" });
    s.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "server-config", namespace: "gitpod" },
      data: { "config.json": "{}" },
    });
    this.cluster.velero.setBackupContents(BACKUP, backupContentsOf(s, ["gitpod"]));
    seedBackup(s, BACKUP, { createdAt: this.recoveryTime.toISOString(), phase: "Completed", ours: true });
    this.eks.on(DescribeClusterCommand, { name: DR_CLUSTER }).resolves({
      cluster: {
        name: DR_CLUSTER,
        endpoint: this.cluster.url,
        certificateAuthority: { data: this.cluster.caData },
        status: "ACTIVE",
      },
    });
  }

  #mockAws(): void {
    let n = 0;
    this.sns.on(PublishCommand).callsFake(() => ({ MessageId: `m-${++n}` }));
    this.cloudwatch.on(PutMetricDataCommand).resolves({});
  }

  async #seedCatalog(imageDigest: string): Promise<void> {
    worlds += 1;
    this.tableName = `gitpod-dr-${STAGE}${worlds}-catalog`;
    const raw = new DynamoDBClient({
      endpoint: this.peers.dynamoEndpoint,
      region: DR,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await createCatalogTable(raw, this.tableName);
    raw.destroy();
    const store = this.catalog();
    const t = this.recoveryTime.getTime();
    const database = databaseEntry(this.recoveryTime, this.snapshot);
    await store.put({ ...database, drCopyArn: this.rds.arn("instance", this.snapshot) });
    // Written after the objects the test puts in the source bucket (the sample takes those older).
    await store.put(bucketEntry(SOURCE_BUCKET, new Date(Date.now() + HOUR)));
    await store.put({
      ...imagesEntry(new Date(t + HOUR)),
      images: [
        {
          source: `${ACCOUNT}.dkr.ecr.${PRIMARY}.amazonaws.com/${IMAGE_REPO}:${IMAGE_TAG}`,
          destination: `${this.peers.registry.host}/${IMAGE_REPO}:${IMAGE_TAG}`,
          digest: imageDigest,
        },
      ],
    });
    await store.put({ ...applicationEntry(new Date(t + 1.5 * HOUR), BACKUP), itemsBackedUp: 6 });
  }

  /** The catalog table of this world. */
  catalog(): CatalogStore {
    const client = new DynamoDBClient({
      endpoint: this.peers.dynamoEndpoint,
      region: DR,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    return new CatalogStore(DynamoDBDocumentClient.from(client), this.tableName);
  }

  /** The drill functions' GITPOD_DR_CONFIG (as stacks/Drill.ts derives it), on this world's table and registry. */
  configJson(): string {
    const registry = this.peers.registry.host;
    const stage = parseStageConfig(
      stageConfig({
        registries: { primary: registry, dr: registry },
        images: { references: [`${IMAGE_REPO}:${IMAGE_TAG}`], insecureRegistries: [registry] },
      }),
    );
    const catalog = { ...catalogConfig(STAGE, stage), tableName: this.tableName };
    return JSON.stringify(drillJobConfig(STAGE, ACCOUNT, stage, catalog));
  }

  async #loadHandlers(): Promise<void> {
    const env: Record<string, string> = {
      GITPOD_DR_STAGE: STAGE,
      GITPOD_DR_TOPIC_ARN: TOPIC_ARN,
      GITPOD_DR_CONFIG: this.configJson(),
      AWS_REGION: DR,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken as string,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.peers.motoEndpoint,
      AWS_ENDPOINT_URL_S3: this.peers.motoEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.peers.dynamoEndpoint,
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.resetModules();
    const [drill, database] = await Promise.all([
      import("../../../functions/src/drill.ts"),
      import("../../../functions/src/drill-database.ts"),
    ]);
    this.handlers = {
      drill: drill.handler as unknown as LambdaHandler,
      database: database.handler as unknown as LambdaHandler,
    };
  }

  /** The SNS messages published, in order. */
  published(): { subject: string; message: string }[] {
    return this.sns.commandCalls(PublishCommand).map((c) => ({
      subject: c.args[0].input.Subject ?? "",
      message: c.args[0].input.Message ?? "",
    }));
  }

  async stop(): Promise<void> {
    this.serving?.restore();
    for (const m of [this.sns, this.cloudwatch, this.eks, this.rds.mock]) m.restore();
    vi.unstubAllEnvs();
    await this.cluster?.stop();
  }
}
