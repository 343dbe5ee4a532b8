/**
 * Conformance: the failure notification and the EKS look-up against moto_server. A real job fails on
 * moto, its notification goes through SNS to a subscriber on 127.0.0.1 (moto delivers to HTTP
 * endpoints), and the subscriber's copy is what the job built: named error, advice, no secret.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CreateClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitpodDrError } from "../../packages/core/src/errors.ts";
import {
  buildFailureNotification,
  type FailureContext,
  publishNotification,
} from "../../packages/core/src/notify/failure.ts";
import { runRdsSnapshotJob } from "../../packages/core/src/rds/job.ts";
import { describeCluster } from "../../packages/core/src/velero/cluster.ts";
import { type MotoServer, startMoto } from "../fixtures/moto.ts";
import { MOTO_SNS_GAPS } from "./moto-gaps.ts";

const REGION = "eu-west-1";

let moto: MotoServer;
let subscriber: http.Server;
const delivered: { Subject?: string; Message: string }[] = [];

beforeAll(async () => {
  moto = await startMoto();
  subscriber = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      delivered.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, "127.0.0.1", resolve));
}, 30_000);
afterAll(async () => {
  await new Promise((resolve) => subscriber?.close(resolve));
  await moto?.stop();
});

async function topicWithSubscriber(sns: SNSClient): Promise<string> {
  const arn = (await sns.send(new CreateTopicCommand({ Name: "gitpod-dr-alerts" }))).TopicArn as string;
  const { port } = subscriber.address() as AddressInfo;
  await sns.send(
    new SubscribeCommand({ TopicArn: arn, Protocol: "http", Endpoint: `http://127.0.0.1:${port}/` }),
  );
  return arn;
}

async function deliveredWithin(ms: number, count: number) {
  const deadline = Date.now() + ms;
  while (delivered.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return delivered;
}

const context = (job: string): FailureContext => ({
  job,
  stage: "conformance",
  account: "123456789012",
  region: REGION,
  functionName: `gitpod-dr-conformance-${job}`,
  requestId: "00000000-0000-0000-0000-000000000001",
  logGroupName: `/aws/lambda/gitpod-dr-conformance-${job}`,
  logStreamName: "2026/11/26/[$LATEST]0123456789abcdef",
  time: new Date("2026-11-26T03:00:42Z"),
});

describe("a failed job's notification, through moto's SNS to a subscriber", () => {
  it("reaches the subscriber as built: the job's named error, the advice, the console link", async () => {
    await moto.reset();
    delivered.length = 0;
    const sns = new SNSClient(moto.clientConfig(REGION));
    const topicArn = await topicWithSubscriber(sns);
    const error = await runRdsSnapshotJob(
      { time: new Date("2026-11-26T03:00:00Z"), dryRun: false },
      {
        stage: "conformance",
        database: { identifier: "no-such-db", kind: "auto" },
        regions: { primary: REGION, dr: "eu-central-1" },
        drKmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        retention: { keepLast: 2, maxAgeDays: 7 },
        drRetention: { keepLast: 2, maxAgeDays: 7 },
        manualSnapshotQuota: 100,
        maxConcurrentCopies: 5,
      },
      {
        rdsPrimary: new RDSClient(moto.clientConfig(REGION)),
        rdsDr: new RDSClient(moto.clientConfig("eu-central-1")),
        kmsPrimary: new KMSClient(moto.clientConfig(REGION)),
      },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GitpodDrError);
    expect((error as Error).name).toBe("DatabaseNotFound");

    const notification = buildFailureNotification(context("rds-snapshot"), error);
    await publishNotification(sns, topicArn, notification);

    const [message] = await deliveredWithin(5_000, 1);
    expect(message?.Subject).toBe("gitpod-dr [conformance] rds-snapshot failed: DatabaseNotFound");
    expect(message?.Message).toBe(notification.message);
    expect(message?.Message).toContain("no-such-db");
    expect(message?.Message).toContain("What to do: This needs a person");
  });

  it("carries no credential from the error, known or recognised, and a subject SNS accepts", async () => {
    await moto.reset();
    delivered.length = 0;
    const sns = new SNSClient(moto.clientConfig(REGION));
    const topicArn = await topicWithSubscriber(sns);
    const token = "reg1stry-t0ken-value-42";
    const cause = new Error(
      `GET https://robot:${token}@registry.example.com/v2/ refused; password=hunter22 sent`,
    );
    const error = new Error(`Copy failed with Authorization: Bearer ${token}\n${"é".repeat(200)}`, { cause });

    const notification = buildFailureNotification(context("image-sync"), error, [token]);
    await publishNotification(sns, topicArn, notification);

    const [message] = await deliveredWithin(5_000, 1);
    const text = `${message?.Subject}\n${message?.Message}`;
    expect(text).not.toContain(token);
    expect(text).not.toContain("hunter22");
    expect(message?.Message).toContain("registry.example.com/v2/");
    // SNS's own rule for subjects (moto does not check it: MOTO_SNS_GAPS): ASCII, one line, < 100.
    expect(message?.Subject).toMatch(/^[\x20-\x7e]{1,99}$/);
    expect(MOTO_SNS_GAPS.map((g) => g.field)).toContain("Subject");
  });
});

describe("the EKS look-up the Velero job and the restore start with", () => {
  it("reads the endpoint and CA of a cluster moto created, and names a missing cluster", async () => {
    await moto.reset();
    const eks = new EKSClient(moto.clientConfig(REGION));
    await eks.send(
      new CreateClusterCommand({
        name: "gitpod",
        roleArn: "arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig: { subnetIds: ["subnet-0123456789abcdef0"] },
      }),
    );
    const endpoint = await describeCluster(eks, "gitpod");
    expect(endpoint.name).toBe("gitpod");
    expect(endpoint.server).toMatch(/^https:\/\/.+\.eks\.amazonaws\.com\/?$/);
    expect(endpoint.caData.length).toBeGreaterThan(0);

    const missing = await describeCluster(eks, "other").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((missing as Error).name).toBe("VeleroPreflightFailed");
    expect((missing as Error).message).toBe("EKS cluster other does not exist in this account and region");
  });
});
