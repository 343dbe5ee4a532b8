/**
 * The velero-backup Lambda handler end to end: its environment read at module load, the EKS client's own
 * credential provider (AWS_* env), DescribeCluster (mocked) → the Kubernetes API simulator over TLS with
 * its CA, the real EKS token verified by the simulator, RBAC from deploy/rbac.yaml, and one SNS message
 * (mocked) per failed invocation, with no credential in it.
 */
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type KubeApi, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  backupsIn,
  CREDENTIALS,
  type EksAuthenticator,
  eksAuthenticator,
  seedGitpod,
  seedVelero,
} from "../../packages/sim/src/kube/velero-cluster.ts";
import { lambdaContextFor } from "../../packages/sim/src/lambda.ts";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-alerts";
const CONFIG = {
  stage: "prod",
  region: "eu-west-1",
  application: { cluster: { name: "gitpod" }, schedule: "cron(0 2 * * ? *)" },
};

const eks = mockClient(EKSClient);
const sns = mockClient(SNSClient);
const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

const lambdaContext = () =>
  lambdaContextFor("gitpod-dr-prod-VeleroBackup", { requestId: "7a1c7a3e-1111-2222-3333-abcdefabcdef" });

/** The EventBridge event for a schedule window. */
const scheduled = (time: Date) => ({
  version: "0",
  id: "0d5b2c1e-aaaa-bbbb-cccc-000000000000",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
  region: "eu-west-1",
  resources: ["arn:aws:events:eu-west-1:123456789012:rule/gitpod-dr-velero"],
  detail: {},
});

async function loadHandler() {
  vi.resetModules();
  const mod = await import("../../packages/functions/src/velero-backup.ts");
  return mod.handler;
}

/** Windows near the real clock: the handler judges ages by `new Date()`. */
const thisWindow = () => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const stamp = (d: Date) => {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
};

let api: KubeApi;
let auth: EksAuthenticator;

beforeEach(async () => {
  auth = eksAuthenticator({ clock: () => new Date() });
  api = await startKubeApi({ authenticate: auth.authenticate, rbac: loadRbac() });
  seedVelero(api.store);
  seedGitpod(api.store, { kotsadm: true });
  eks.reset();
  sns.reset();
  eks.on(DescribeClusterCommand, { name: "gitpod" }).resolves({
    cluster: {
      name: "gitpod",
      endpoint: api.url,
      certificateAuthority: { data: api.caData },
      status: "ACTIVE",
    },
  });
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv("GITPOD_DR_CONFIG", JSON.stringify(CONFIG));
  vi.stubEnv("AWS_REGION", "eu-west-1");
  vi.stubEnv("AWS_ACCESS_KEY_ID", CREDENTIALS.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secretAccessKey);
  vi.stubEnv("AWS_SESSION_TOKEN", CREDENTIALS.sessionToken as string);
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await api.stop();
});

describe("velero-backup handler", () => {
  it("a good run publishes nothing and returns the summary", async () => {
    const handler = await loadHandler();
    const window = thisWindow();
    const previous = new Date(window.getTime() - 86_400_000);

    // Yesterday's invocation (a warm start later: the module and its cluster access are reused).
    api.store.setNow(previous.getTime() + 5_000);
    const first = await handler(scheduled(previous), lambdaContext());
    expect(first.backup).toEqual({
      name: `gitpod-dr-${stamp(previous)}`,
      created: true,
      alreadyExisted: false,
    });
    api.velero.tick();
    api.velero.tick();

    api.store.setNow(Date.now());
    const summary = await handler(scheduled(window), lambdaContext());

    expect(summary).toMatchObject({
      cluster: "gitpod",
      window: stamp(window),
      dryRun: false,
      backup: { name: `gitpod-dr-${stamp(window)}`, created: true, alreadyExisted: false },
      veleroVersion: "v1.16.2",
      kots: true,
      previous: { name: `gitpod-dr-${stamp(previous)}`, phase: "Completed", errors: 0, warnings: 0 },
    });
    expect(published()).toEqual([]);
    expect(backupsIn(api.store).map((b) => b.metadata.name)).toEqual([
      `gitpod-dr-${stamp(previous)}`,
      `gitpod-dr-${stamp(window)}`,
    ]);
    // Described once per cold start; every request authenticated as the function's role, none refused.
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(auth.rejections).toEqual([]);
    expect(api.requests.filter((r) => r.status === 401 || r.status === 403)).toEqual([]);
  });

  it("previous backup PartiallyFailed: exactly one SNS message with phase and reason, without credentials", async () => {
    const handler = await loadHandler();
    const window = thisWindow();
    const previous = new Date(window.getTime() - 86_400_000);
    const previousName = `gitpod-dr-${stamp(previous)}`;
    api.store.setNow(previous.getTime() + 5_000);
    await handler(scheduled(previous), lambdaContext());
    api.velero.planBackup(previousName, [
      { phase: "InProgress" },
      {
        phase: "PartiallyFailed",
        status: {
          errors: 3,
          warnings: 7,
          failureReason: "pod volume backup failed for gitpod/minio-0: context deadline exceeded",
        },
      },
    ]);
    api.velero.tick();
    api.velero.tick();
    expect(published()).toEqual([]);

    api.store.setNow(Date.now());
    const error = await handler(scheduled(window), lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    expect(error?.name).toBe("VeleroBackupFailed");
    const messages = published();
    expect(messages).toHaveLength(1);
    const { TopicArn, Subject, Message } = messages[0] ?? {};
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe("gitpod-dr [prod] velero-backup failed: VeleroBackupFailed");
    expect(Message).toContain('The gitpod-dr job "velero-backup" failed in stage "prod".');
    expect(Message).toContain(
      `The previous Velero backup ${previousName} on cluster gitpod did not complete`,
    );
    expect(Message).toContain("phase PartiallyFailed, 3 error(s), 7 warning(s)");
    expect(Message).toContain("pod volume backup failed for gitpod/minio-0: context deadline exceeded");
    expect(Message).toContain(`This window's backup gitpod-dr-${stamp(window)} was created.`);

    // The token the cluster saw, and the credentials it was signed with, appear nowhere.
    expect(auth.tokens.length).toBeGreaterThan(0);
    const outgoing = [`${Subject}\n${Message}`, error?.message ?? "", error?.stack ?? ""];
    for (const text of outgoing) {
      for (const token of new Set(auth.tokens)) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(token.slice("k8s-aws-v1.".length, 40));
      }
      expect(text).not.toContain("k8s-aws-v1.");
      expect(text).not.toContain(CREDENTIALS.secretAccessKey);
      expect(text).not.toContain(CREDENTIALS.sessionToken);
    }
    // This window's backup was still created.
    expect(backupsIn(api.store)).toHaveLength(2);
  });

  it("a cluster that does not accept the role: one message pointing at the access entry, no token", async () => {
    await api.stop();
    auth = eksAuthenticator({
      clock: () => new Date(),
      credentials: { ...CREDENTIALS, accessKeyId: "ASIAOTHERROLE0000009" },
    });
    api = await startKubeApi({ authenticate: auth.authenticate, rbac: loadRbac() });
    eks.on(DescribeClusterCommand, { name: "gitpod" }).resolves({
      cluster: {
        name: "gitpod",
        endpoint: api.url,
        certificateAuthority: { data: api.caData },
        status: "ACTIVE",
      },
    });
    const handler = await loadHandler();

    const error = await handler(scheduled(thisWindow()), lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    expect(error?.name).toBe("KubeApiError");
    expect(published()).toHaveLength(1);
    const { Subject, Message } = published()[0] ?? {};
    expect(Subject).toBe("gitpod-dr [prod] velero-backup failed: KubeApiError");
    expect(Message).toContain("check the EKS access entry for its role");
    expect(auth.tokens.length).toBeGreaterThan(0);
    for (const token of auth.tokens) expect(Message).not.toContain(token.slice("k8s-aws-v1.".length, 40));
    expect(Message).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it("a cluster that does not exist: VeleroPreflightFailed, reported once", async () => {
    eks.on(DescribeClusterCommand).rejects(
      Object.assign(new Error("No cluster found for name: gitpod."), {
        name: "ResourceNotFoundException",
        $metadata: { httpStatusCode: 404 },
      }),
    );
    const handler = await loadHandler();

    await expect(handler(scheduled(thisWindow()), lambdaContext())).rejects.toMatchObject({
      name: "VeleroPreflightFailed",
      check: "cluster",
    });
    expect(published()).toHaveLength(1);
    expect(published()[0]?.Message).toContain("EKS cluster gitpod does not exist in this account and region");
    expect(api.requests).toEqual([]);
  });
});
