import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HttpAgents } from "../../../packages/core/src/registry/http.ts";
import { lambdaContextFor, scheduledEventFor } from "../../../packages/sim/src/lambda.ts";
import { serveEcrApi } from "../registry/fake-ecr.ts";
import { FakeNetwork } from "../registry/fake-network.ts";
import { FakeRegistry, ociError } from "../registry/fake-registry.ts";

// Every registry connection of the handler goes to the fake network: the process-wide keep-alive agents
// are the only seam, and nothing else of the engine is replaced.
const seam = vi.hoisted(() => ({ agents: undefined as HttpAgents | undefined }));
vi.mock("../../../packages/core/src/registry/http.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../../packages/core/src/registry/http.ts")>();
  return {
    ...actual,
    sharedAgents: () => {
      if (!seam.agents) throw new Error("the fake network is not running");
      return seam.agents;
    },
  };
});

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:gitpod-dr-alerts";
const SOURCE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const DEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const QUAY_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitpod-dr/quay-AbCdEf";
const ECR_PASSWORD = "eyJwYXlsb2FkIjoiRUNSLXNlY3JldC10b2tlbiJ9-ecr-password";
const ECR_TOKEN = Buffer.from(`AWS:${ECR_PASSWORD}`).toString("base64");
const QUAY_PASSWORD = "quay-robot-P4ssw0rd-secret";

const CONFIG = {
  stage: "prod",
  images: {
    schedule: "rate(1 hour)",
    registries: { "quay.io": { credentialsSecretArn: QUAY_SECRET_ARN } },
    rules: [
      {
        name: "gitpod",
        source: { registry: SOURCE },
        repositories: ["gitpod/*"],
        destination: { registry: DEST, repositoryPrefix: "dr/" },
      },
    ],
  },
};
const WITH_QUAY = {
  ...CONFIG,
  images: {
    ...CONFIG.images,
    rules: [
      ...CONFIG.images.rules,
      {
        name: "quay",
        source: { registry: "quay.io" },
        repositories: ["gitpod/base"],
        destination: { registry: DEST, repositoryPrefix: "quay/" },
      },
    ],
  },
};

function setEnv(config: unknown = CONFIG) {
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", TOPIC);
  vi.stubEnv("GITPOD_DR_CONFIG", JSON.stringify(config));
  vi.stubEnv("AWS_REGION", "eu-west-1");
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
}

async function loadHandler() {
  vi.resetModules();
  const mod = await import("../../../packages/functions/src/image-sync.ts");
  return mod.handler;
}

const lambdaContext = (remainingMs = 900_000) =>
  lambdaContextFor("gitpod-dr-prod-ImageSync", {
    remainingMs,
    memoryMB: 1024,
    requestId: "7a1c7a3e-1111-2222-3333-abcdefabcdef",
  });

const scheduledEvent = scheduledEventFor("gitpod-dr-images", {
  id: "0d5b2c1e-aaaa-bbbb-cccc-000000000000",
  time: "2026-11-26T03:00:00Z",
});

const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);
let network: FakeNetwork;
let src: FakeRegistry;
let dst: FakeRegistry;

const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeEach(async () => {
  network = await FakeNetwork.start();
  seam.agents = network.agents;
  src = new FakeRegistry(SOURCE, network);
  dst = new FakeRegistry(DEST, network);
  src.addImage("gitpod/server", "1", [Buffer.from("server layer ".repeat(500))]);
  src.addImage("gitpod/proxy", "1", [Buffer.from("proxy layer ".repeat(500))]);
  ecr.reset();
  sns.reset();
  secrets.reset();
  ecr.on(GetAuthorizationTokenCommand).resolves({
    authorizationData: [{ authorizationToken: ECR_TOKEN, expiresAt: new Date(Date.now() + 12 * 3_600_000) }],
  });
  // ECR's API answers from the fake registries (repositories, tags with digests, creation).
  serveEcrApi(ecr, [src, dst]);
  secrets.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ username: "gitpod+robot", password: QUAY_PASSWORD }),
  });
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  setEnv();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  seam.agents = undefined;
  await network.close();
});

describe("image-sync handler", () => {
  it("copies every image with ECR credentials and publishes nothing when all succeed", async () => {
    const handler = await loadHandler();

    const summary = await handler(scheduledEvent, lambdaContext());

    expect(summary.totals).toMatchObject({ copied: 2, failed: 0, deferred: 0 });
    expect(dst.tagDigest("dr/gitpod/server", "1")).toBe(src.tagDigest("gitpod/server", "1"));
    expect(dst.tagDigest("dr/gitpod/proxy", "1")).toBe(src.tagDigest("gitpod/proxy", "1"));
    // ECR's Basic credential goes with every request, from the first one.
    expect(new Set(network.requests.map((r) => r.headers.authorization))).toEqual(
      new Set([`Basic ${ECR_TOKEN}`]),
    );
    expect(published()).toEqual([]);
  });

  it("publishes exactly one message naming the failed images and their errors, without any credential", async () => {
    setEnv(WITH_QUAY);
    const handler = await loadHandler();
    src.fault = (request) =>
      request.path.startsWith("/v2/gitpod/proxy/")
        ? ociError(
            403,
            "DENIED",
            "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: ecr:BatchGetImage",
          )
        : undefined;
    network.route("quay.io", () => ({
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="https://quay.io/v2/auth",service="quay.io"' },
    }));

    const error = await handler(scheduledEvent, lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    expect(error?.name).toBe("ImageSyncIncomplete");
    // The image that could be copied was.
    expect(dst.tagDigest("dr/gitpod/server", "1")).toBe(src.tagDigest("gitpod/server", "1"));
    const messages = published();
    expect(messages).toHaveLength(1);
    const { TopicArn, Subject, Message } = messages[0] ?? {};
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe("gitpod-dr [prod] image-sync failed: ImageSyncIncomplete");
    expect(Message).toContain(
      "Image sync of stage prod: 2 failed (1 copied, 0 up to date, 0 left for the next run)",
    );
    // A HEAD answer has no body, so the status is all the registry says.
    expect(Message).toContain(
      `${SOURCE}/gitpod/proxy:1 → ${DEST}/dr/gitpod/proxy:1: RegistryError: HEAD manifest gitpod/proxy:1 at ${SOURCE}: HTTP 403`,
    );
    expect(Message).toContain(
      'rule "quay": gitpod/base: Token request to quay.io for quay.io: the token server refused the configured credentials (HTTP 401)',
    );
    for (const secret of [
      ECR_PASSWORD,
      ECR_TOKEN,
      QUAY_PASSWORD,
      Buffer.from(`gitpod+robot:${QUAY_PASSWORD}`).toString("base64"),
    ]) {
      expect(`${Subject}\n${Message}`).not.toContain(secret);
      expect(error?.message).not.toContain(secret);
    }
  });

  it("removes a password read from Secrets Manager from the message when a registry quotes it back", async () => {
    // A bare password, in no shape a pattern knows: only the value read from Secrets Manager can find it.
    const password = "Zq7-winter-harbor-22";
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: "gitpod+robot", password }),
    });
    setEnv(WITH_QUAY);
    const handler = await loadHandler();
    network.route("quay.io", (request) =>
      request.headers.authorization === undefined
        ? { status: 401, headers: { "www-authenticate": 'Basic realm="quay.io"' } }
        : ociError(403, "DENIED", `robot gitpod+robot (${password}) may not pull gitpod/base`),
    );

    const error = await handler(scheduledEvent, lambdaContext()).then(
      () => undefined,
      (e: Error) => e,
    );

    expect(error?.name).toBe("ImageSyncIncomplete");
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const [message] = published();
    // The registry's answer is there, with the password taken out.
    expect(message?.Message).toContain(
      "HTTP 403 DENIED (robot gitpod+robot ([REDACTED]) may not pull gitpod/base)",
    );
    for (const form of [password, Buffer.from(password).toString("base64").replace(/=+$/, "")]) {
      expect(`${message?.Subject}\n${message?.Message}`).not.toContain(form);
      expect(error?.message).not.toContain(form);
      expect(error?.stack ?? "").not.toContain(form);
    }
  });

  it("rejects a mistyped manual input before any work, and reports it once", async () => {
    const handler = await loadHandler();

    await expect(handler({ dry_run: true }, lambdaContext())).rejects.toMatchObject({
      name: "InvalidInput",
      message: expect.stringContaining("dry_run"),
    });

    expect(ecr.calls()).toHaveLength(0);
    expect(network.requests).toEqual([]);
    expect(published()).toHaveLength(1);
    expect(published()[0]?.Subject).toBe("gitpod-dr [prod] image-sync failed: InvalidInput");
  });

  it("starts no copy when too little time is left, and succeeds with everything deferred", async () => {
    const handler = await loadHandler();

    // 60 s left: more than the early timeout (10 s), less than the time kept for copies in flight.
    const summary = await handler(scheduledEvent, lambdaContext(60_000));

    expect(summary.deferred).toEqual([
      `${SOURCE}/gitpod/proxy:1 → ${DEST}/dr/gitpod/proxy:1`,
      `${SOURCE}/gitpod/server:1 → ${DEST}/dr/gitpod/server:1`,
    ]);
    expect(summary.totals).toMatchObject({ copied: 0, deferred: 2, failed: 0 });
    expect(network.requests).toEqual([]);
    // The destination repositories were made ready through ECR's API; no image was written.
    expect([...dst.repos.values()].map((r) => r.tags.size)).toEqual([0, 0]);
    expect(published()).toEqual([]);
  });

  it("runs a manual dry run without writing", async () => {
    const handler = await loadHandler();

    const summary = await handler({ dryRun: true }, lambdaContext());

    expect(summary.dryRun).toBe(true);
    expect([...summary.wouldCopy].sort()).toEqual([
      `${SOURCE}/gitpod/proxy:1 → ${DEST}/dr/gitpod/proxy:1`,
      `${SOURCE}/gitpod/server:1 → ${DEST}/dr/gitpod/server:1`,
    ]);
    expect(network.requests.filter((r) => r.method !== "HEAD")).toEqual([]);
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });
});
