/**
 * Secrets read through the real code paths — a database password and kotsadm's auth string from a
 * Kubernetes Secret (client-node against the API simulator, reached with a real EKS token), registry
 * credentials from Secrets Manager (mocked SDK client) — and then quoted, bare, in a thrown error never
 * reach what leaves the process: the restore task's error (Step Functions keeps it as the state's cause),
 * its log line, or the failure notification built from it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { GitpodDrError } from "../../packages/core/src/errors.ts";
import { buildFailureNotification } from "../../packages/core/src/notify/failure.ts";
import { secretCredentials } from "../../packages/core/src/registry/auth.ts";
import { failureMessage } from "../../packages/core/src/restore/messages.ts";
import { taskHandler } from "../../packages/functions/src/lib/task.ts";
import { type KubeApi, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  connectViaEks,
  eksAuthenticator,
  KOTSADM_AUTHSTRING,
  seedKotsadmAuth,
  seedSecret,
} from "../../packages/sim/src/kube/velero-cluster.ts";
import { lambdaContextFor } from "../../packages/sim/src/lambda.ts";

/** Bare values, in no shape a redaction pattern recognises: only the value read can find them. */
const DB_PASSWORD = "Tr0ub4dor-and-3-horses";
const REGISTRY_PASSWORD = "Zq7-winter-harbor-22";

class DatabaseRestoreFailed extends GitpodDrError {
  override readonly name = "DatabaseRestoreFailed";
}

function captured(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ serviceName: "test", logLevel: "INFO" });
  const sink = (line: string) => lines.push(line);
  (logger as unknown as { console: Record<string, (l: string) => void> }).console = {
    info: sink,
    error: sink,
    warn: sink,
    debug: sink,
    log: sink,
  };
  return { logger, lines };
}

let api: KubeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

describe("secrets read during a run never leave in an error", () => {
  it("a database password and the kotsadm auth string read from the cluster, quoted by a failure", async () => {
    const auth = eksAuthenticator();
    api = await startKubeApi({ authenticate: auth.authenticate });
    seedSecret(api.store, "gitpod", "database", {
      host: "gitpod-db.c0ffee.eu-west-1.rds.amazonaws.com",
      port: "3306",
      username: "gitpod",
      password: DB_PASSWORD,
    });
    seedKotsadmAuth(api.store);
    const { logger, lines } = captured();
    const sim = api;

    // Prepare: a restore task that reads both Secrets (as Build plan and Point do), then fails with a
    // driver-style message quoting them.
    const handler = taskHandler(logger, async () => {
      const { kube } = await connectViaEks(sim);
      const db = await kube.getSecretData("gitpod", "database");
      const kots = await kube.getSecretData("gitpod", "kotsadm-authstring");
      const token = auth.tokens.at(-1) as string;
      throw new DatabaseRestoreFailed(
        `Access denied for user ${db?.username}@${db?.host} using ${db?.password}; kotsadm session ${kots?.["kotsadm-authstring"]?.split(" ")[1]}; token ${token.slice("k8s-aws-v1.".length)}`,
        { cause: new Error(`driver: ${db?.password}`) },
      );
    });

    // Act
    const error = (await handler({}, lambdaContextFor("restore-test")).then(
      () => undefined,
      (e: Error) => e,
    )) as Error;

    // Assess: what Step Functions keeps, what the log holds, and the restore's failure message.
    expect(error.name).toBe("DatabaseRestoreFailed");
    const notified = failureMessage(
      {
        executionName: "exec-1",
        failed: { database: { Error: error.name, Cause: JSON.stringify({ errorMessage: error.message }) } },
      },
      [],
      "prod",
      "eu-west-1",
      new Date("2026-11-26T03:00:00Z"),
    );
    const token = auth.tokens.at(-1) as string;
    const texts = [
      error.message,
      error.stack ?? "",
      String((error.cause as Error).message),
      ...lines,
      notified.message,
    ];
    for (const text of texts) {
      expect(text).not.toContain(DB_PASSWORD);
      expect(text).not.toContain(KOTSADM_AUTHSTRING.split(" ")[1]);
      expect(text).not.toContain(token.slice("k8s-aws-v1.".length, 60));
    }
    // What is not secret stays readable.
    expect(error.message).toContain(
      "Access denied for user gitpod@gitpod-db.c0ffee.eu-west-1.rds.amazonaws.com",
    );
  });

  it("registry credentials read from Secrets Manager, quoted by a failure, reach no notification", async () => {
    const client = new SecretsManagerClient({ region: "eu-west-1" });
    mockClient(client)
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: "gitpod+robot", password: REGISTRY_PASSWORD }) });
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitpod-dr/quay-AbCdEf";
    const { logger, lines } = captured();

    const handler = taskHandler(logger, async () => {
      const credentials = await secretCredentials(client, arn, "quay.io")();
      throw new DatabaseRestoreFailed(
        `quay.io said: robot ${credentials?.username} (${credentials?.password}) denied`,
      );
    });
    const error = (await handler({}, lambdaContextFor("restore-test")).then(
      () => undefined,
      (e: Error) => e,
    )) as Error;
    const notification = buildFailureNotification(
      {
        job: "image-sync",
        stage: "prod",
        account: "123456789012",
        region: "eu-west-1",
        functionName: "f",
        requestId: "r",
        logGroupName: "g",
        logStreamName: "s",
        time: new Date("2026-11-26T03:00:00Z"),
      },
      new Error(`registry quoted ${REGISTRY_PASSWORD}`),
    );

    for (const text of [
      error.message,
      error.stack ?? "",
      ...lines,
      notification.subject,
      notification.message,
    ]) {
      expect(text).not.toContain(REGISTRY_PASSWORD);
    }
    expect(error.message).toContain("quay.io said: robot gitpod+robot ([REDACTED]) denied");
  });
});
