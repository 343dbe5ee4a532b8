import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  paginateListSecrets,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { awsErrorCode } from "../../../packages/core/src/aws/errors.ts";
import { FakeSecretsManager } from "../../../packages/sim/src/rehearse/secrets.ts";

const REGION = "eu-west-1";
const at = new Date("2026-12-06T04:00:00Z");

async function listed(client: SecretsManagerClient, input: Parameters<typeof paginateListSecrets>[1]) {
  const names: string[] = [];
  for await (const page of paginateListSecrets({ client }, input))
    names.push(...(page.SecretList ?? []).map((s) => s.Name ?? ""));
  return names;
}

describe("the simulated account's Secrets Manager", () => {
  it("creates, reads by name or ARN, lists by name prefix and tag key, and deletes", async () => {
    const fake = new FakeSecretsManager(() => at);
    const client = fake.client(REGION);
    const created = await client.send(
      new CreateSecretCommand({
        Name: "gitpod-dr/s/drill/abc",
        SecretString: '{"password":"p1"}',
        Tags: [{ Key: "gitpod-dr:drill", Value: "abc" }],
      }),
    );
    await client.send(new CreateSecretCommand({ Name: "other", SecretString: "x" }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:gitpod-dr\/s\/drill\/abc-/);
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.SecretString).toBe('{"password":"p1"}');
    const byName = await client.send(new GetSecretValueCommand({ SecretId: "gitpod-dr/s/drill/abc" }));
    expect(byName.ARN).toBe(created.ARN);

    // The SDK's paginator accepts the client (it checks `instanceof SecretsManagerClient`).
    const filters = [
      { Key: "tag-key" as const, Values: ["gitpod-dr:drill"] },
      { Key: "name" as const, Values: ["gitpod-dr/s/drill/"] },
    ];
    expect(await listed(client, { Filters: filters })).toEqual(["gitpod-dr/s/drill/abc"]);
    expect(await listed(fake.client("us-east-1"), {})).toEqual([]);

    const duplicate = await client
      .send(new CreateSecretCommand({ Name: "other", SecretString: "y" }))
      .catch((e: unknown) => e);
    expect(awsErrorCode(duplicate)).toBe("ResourceExistsException");

    await client.send(new DeleteSecretCommand({ SecretId: created.ARN, ForceDeleteWithoutRecovery: true }));
    const gone = await client
      .send(new GetSecretValueCommand({ SecretId: created.ARN }))
      .catch((e: unknown) => e);
    expect(awsErrorCode(gone)).toBe("ResourceNotFoundException");
    expect(fake.live(REGION).map((s) => s.name)).toEqual(["other"]);
  });

  it("keeps a secret deleted with recovery unreadable and listed only with IncludePlannedDeletion", async () => {
    const fake = new FakeSecretsManager(() => at);
    const client = fake.client(REGION);
    await client.send(new CreateSecretCommand({ Name: "s1", SecretString: "v" }));
    await client.send(new DeleteSecretCommand({ SecretId: "s1" }));
    const read = await client.send(new GetSecretValueCommand({ SecretId: "s1" })).catch((e: unknown) => e);
    expect(awsErrorCode(read)).toBe("InvalidRequestException");
    expect(await listed(client, {})).toEqual([]);
    expect(await listed(client, { IncludePlannedDeletion: true })).toEqual(["s1"]);
    expect(fake.live(REGION)).toEqual([]);
  });
});
