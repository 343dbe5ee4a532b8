/**
 * The simulated AWS account of a rehearsal: every client the core asks its `ClientCache` for is answered
 * by a fake of this account (RDS and KMS per region, S3, SNS capture, CloudWatch metrics and alarms, EC2
 * security groups, Secrets Manager (secrets.ts), EKS DescribeCluster of the simulated clusters) or by a real local peer (the catalog on
 * dynalite, 127.0.0.1). Clients carry static fake credentials and endpoints on 127.0.0.1 only: the
 * caller's AWS credentials and profile are never read. A lost region's clients fail like an unreachable
 * endpoint.
 */
import type { Server } from "node:http";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import { S3Client } from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ClientCache } from "../../../core/src/aws/cache.ts";
import { createCatalogTable, startDynalite } from "../catalog/local.ts";
import { type DrillRdsHooks, drillRdsSend } from "../drill/rds-commands.ts";
import { CREDENTIALS } from "../kube/velero-cluster.ts";
import { FAKE_VPC, FakeAws, FakeKms } from "../rds/fake-rds.ts";
import { FakeS3World } from "../s3/fake-s3.ts";
import { FakeCloudWatch } from "./cloudwatch.ts";
import { FakeSecretsManager } from "./secrets.ts";

/** The only credentials any simulated client holds (never the environment's). */
export const SIM_CREDENTIALS = {
  accessKeyId: CREDENTIALS.accessKeyId,
  secretAccessKey: CREDENTIALS.secretAccessKey,
  sessionToken: CREDENTIALS.sessionToken as string,
};

type Send = (command: unknown) => Promise<unknown>;
interface SimClient {
  send: Send;
  config: Record<string, unknown>;
}

export interface PublishedMessage {
  readonly at: Date;
  readonly topicArn: string;
  readonly subject: string;
  readonly body: string;
}

export interface ClusterEndpoint {
  readonly url: string;
  readonly caData: string;
}

export interface AccountOptions {
  readonly regions: { readonly primary: string; readonly dr: string };
  readonly catalogTable: string;
  /** KMS keys that exist (key ARN): every key the stage names. */
  readonly kmsKeys: readonly string[];
  /** Security groups that exist, per region. */
  readonly securityGroups: Readonly<Record<string, readonly string[]>>;
  readonly clock: () => Date;
}

/** An error like the SDK's when an endpoint does not answer (the region is gone). */
function unreachable(service: string, region: string): Error {
  return Object.assign(new Error(`connect ETIMEDOUT ${service}.${region}.amazonaws.com:443`), {
    name: "TimeoutError",
    code: "ETIMEDOUT",
    $metadata: {},
  });
}

export class SimAccount {
  readonly rds: FakeAws;
  readonly s3 = FakeS3World.create();
  readonly cloudwatch: FakeCloudWatch;
  readonly secrets: FakeSecretsManager;
  /** The drill's RDS commands (ModifyDB*, DeleteDB*, listing) on every region's fake: hooks and what was deleted. */
  readonly drillRds: DrillRdsHooks = { deleted: [] };
  readonly messages: PublishedMessage[] = [];
  readonly clusters = new Map<string, ClusterEndpoint & { region: string }>();
  /** Regions whose endpoints no longer answer (the scenario's disaster). */
  readonly lostRegions = new Set<string>();
  readonly cache: SimClientCache;
  #kms = new Map<string, FakeKms>();
  #dynamo?: { server: Server; client: DynamoDBClient };

  private constructor(readonly options: AccountOptions) {
    this.rds = new FakeAws(options.clock);
    this.cloudwatch = new FakeCloudWatch(options.clock);
    this.secrets = new FakeSecretsManager(options.clock);
    this.cache = new SimClientCache(this);
  }

  static async start(options: AccountOptions): Promise<SimAccount> {
    const account = new SimAccount(options);
    const { server, endpoint } = await startDynalite();
    const client = new DynamoDBClient({
      region: options.regions.dr,
      endpoint,
      credentials: SIM_CREDENTIALS,
      maxAttempts: 1,
    });
    account.#dynamo = { server, client };
    await createCatalogTable(client, options.catalogTable);
    return account;
  }

  /** The client the core asked for, served by this account's fakes. */
  clientFor(Client: unknown, region: string): unknown {
    // The client itself (paginators check `instanceof`), with a send that fails once the region is lost.
    const regional = (service: string, client: { send: unknown; config: unknown }): SimClient => {
      const send: Send = async (command) => {
        if (this.lostRegions.has(region)) throw unreachable(service, region);
        return (client.send as Send).call(client, command);
      };
      return Object.assign(Object.create(client) as SimClient, { send });
    };
    if (Client === RDSClient) {
      const fake = this.rds.region(region);
      const client = Object.assign(Object.create(fake.client) as SimClient, {
        send: drillRdsSend(fake, this.drillRds),
      });
      return regional("rds", client);
    }
    if (Client === KMSClient) return regional("kms", this.#kmsIn(region).client);
    if (Client === S3Client)
      return regional("s3", region === this.options.regions.primary ? this.s3.s3 : this.s3.s3Dr);
    if (Client === S3ControlClient) return regional("s3-control", this.s3.s3control);
    if (Client === CloudWatchClient) return regional("monitoring", this.cloudwatch.client(region));
    if (Client === DynamoDBClient) {
      if (!this.#dynamo) throw new Error("simulated account: the catalog is not started");
      // The document client wraps the client's own middleware stack: the real client (to dynalite) itself.
      if (region !== this.options.regions.dr)
        throw new Error(`simulated account: the catalog is in ${this.options.regions.dr}`);
      return this.#dynamo.client;
    }
    if (Client === SNSClient) return regional("sns", this.#sns(region));
    if (Client === SecretsManagerClient) return regional("secretsmanager", this.secrets.client(region));
    if (Client === EKSClient) return regional("eks", this.#eks(region));
    if (Client === EC2Client) return regional("ec2", this.#ec2(region));
    const name = (Client as { name?: string }).name ?? "client";
    throw new Error(`simulated account: ${name} is not simulated (region ${region})`);
  }

  #kmsIn(region: string): FakeKms {
    let kms = this.#kms.get(region);
    if (!kms) {
      kms = new FakeKms(
        Object.fromEntries(
          this.options.kmsKeys.filter((k) => k.split(":")[3] === region).map((k) => [k, "CUSTOMER" as const]),
        ),
      );
      this.#kms.set(region, kms);
    }
    return kms;
  }

  #sns(region: string): { send: Send; config: Record<string, unknown> } {
    return {
      config: { region: async () => region },
      send: async (command) => {
        if (!(command instanceof PublishCommand)) throw new Error("simulated SNS: only Publish is served");
        const input = command.input;
        this.messages.push({
          at: this.options.clock(),
          topicArn: input.TopicArn ?? "",
          subject: input.Subject ?? "",
          body: input.Message ?? "",
        });
        return { MessageId: `sim-${this.messages.length}`, $metadata: {} };
      },
    };
  }

  #eks(region: string): { send: Send; config: Record<string, unknown> } {
    return {
      config: { region: async () => region, credentials: async () => SIM_CREDENTIALS },
      send: async (command) => {
        if (!(command instanceof DescribeClusterCommand))
          throw new Error("simulated EKS: DescribeCluster only");
        const name = command.input.name ?? "";
        const cluster = this.clusters.get(name);
        if (!cluster || cluster.region !== region) {
          throw Object.assign(new Error(`No cluster found for name: ${name}.`), {
            name: "ResourceNotFoundException",
            $fault: "client",
            $metadata: { httpStatusCode: 404 },
          });
        }
        return {
          cluster: {
            name,
            endpoint: cluster.url,
            certificateAuthority: { data: cluster.caData },
            status: "ACTIVE",
          },
          $metadata: {},
        };
      },
    };
  }

  #ec2(region: string): { send: Send; config: Record<string, unknown> } {
    return {
      config: { region: async () => region },
      send: async (command) => {
        if (!(command instanceof DescribeSecurityGroupsCommand))
          throw new Error("simulated EC2: DescribeSecurityGroups only");
        const ids = (command.input.Filters?.[0]?.Values ?? command.input.GroupIds ?? []) as string[];
        const known = new Set(this.options.securityGroups[region] ?? []);
        return {
          SecurityGroups: ids.filter((id) => known.has(id)).map((GroupId) => ({ GroupId, VpcId: FAKE_VPC })),
          $metadata: {},
        };
      },
    };
  }

  async stop(): Promise<void> {
    const dynamo = this.#dynamo;
    if (!dynamo) return;
    dynamo.client.destroy();
    await new Promise<void>((resolve) => dynamo.server.close(() => resolve()));
  }
}

/**
 * The core's client cache over the simulated account: the same seams the Lambda functions and the CLI
 * use (`cache.client(Class, region)`, `cache.value(key, make)`), with every client a fake of the account.
 */
export class SimClientCache extends ClientCache {
  constructor(readonly account: SimAccount) {
    super();
  }

  override client<C>(Client: new (config: never) => C, region: string): C {
    return this.value(`sim ${(Client as { name?: string }).name} ${region}`, () =>
      this.account.clientFor(Client, region),
    ) as C;
  }
}
