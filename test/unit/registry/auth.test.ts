import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dockerConfigCredentials } from "../../../packages/cli/src/docker-config.ts";
import {
  ecrCredentials,
  secretCredentials,
  staticCredentials,
} from "../../../packages/core/src/registry/auth.ts";
import { credentialsFor } from "../../../packages/core/src/registry/registries.ts";

const ECR_HOST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const SECRET_ARN = "arn:aws:secretsmanager:us-east-2:123456789012:secret:ghcr-robot-AbCdEf";
const accessDenied = () =>
  Object.assign(new Error("User is not authorized to perform ecr:GetAuthorizationToken"), {
    name: "AccessDeniedException",
    $metadata: { httpStatusCode: 400 },
  });

const ecr = mockClient(ECRClient);
const secrets = mockClient(SecretsManagerClient);
afterEach(() => {
  ecr.reset();
  secrets.reset();
});

describe("ecrCredentials", () => {
  it("decodes AWS:<password> from GetAuthorizationToken, with its expiry, and is sent preemptively", async () => {
    const expiresAt = new Date("2026-11-26T15:00:00Z");
    ecr.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        { authorizationToken: Buffer.from("AWS:ecr-password-123").toString("base64"), expiresAt },
      ],
    });
    const provider = ecrCredentials(new ECRClient({ region: "eu-central-1" }), ECR_HOST);
    expect(provider.preemptive).toBe(true);
    expect(await provider()).toEqual({ username: "AWS", password: "ecr-password-123", expiresAt });
  });

  it("turns a refusal into AwsAccessDenied naming the registry", async () => {
    ecr.on(GetAuthorizationTokenCommand).rejects(accessDenied());
    const error = await ecrCredentials(new ECRClient({ region: "eu-central-1" }), ECR_HOST)().catch((e) => e);
    expect(error.name).toBe("AwsAccessDenied");
    expect(error.message).toContain(ECR_HOST);
  });

  it("fails with RegistryAuthFailed when ECR returns no usable token", async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{}] });
    const error = await ecrCredentials(new ECRClient({ region: "eu-central-1" }), ECR_HOST)().catch((e) => e);
    expect(error.name).toBe("RegistryAuthFailed");
  });
});

describe("secretCredentials", () => {
  const read = (secret: string | undefined) => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: secret });
    return secretCredentials(new SecretsManagerClient({ region: "us-east-2" }), SECRET_ARN, "ghcr.io")();
  };

  it("reads username and password from the secret's JSON, and is not sent preemptively", async () => {
    expect(await read(JSON.stringify({ username: "robot", password: "s3cr3t-value" }))).toEqual({
      username: "robot",
      password: "s3cr3t-value",
    });
    expect(secretCredentials(new SecretsManagerClient({}), SECRET_ARN, "ghcr.io").preemptive).toBeUndefined();
  });

  it("names what is missing without repeating the secret's content", async () => {
    const error = await read(JSON.stringify({ username: "robot-user", pass: "s3cr3t-value" })).catch(
      (e) => e,
    );
    expect(error.name).toBe("RegistryAuthFailed");
    expect(error.message).toContain("has no password");
    expect(error.message).toContain(SECRET_ARN);
    expect(error.message).not.toContain("s3cr3t-value");
    expect(error.message).not.toContain("robot-user");
  });

  it("refuses a secret that is not JSON, without quoting it", async () => {
    const error = await read("robot:s3cr3t-value").catch((e) => e);
    expect(error.message).toMatch(/is not JSON/);
    expect(error.message).not.toContain("s3cr3t-value");
  });
});

describe("credentialsFor", () => {
  it("uses ECR in the registry's own region, the secret in the secret's region, and given providers first", async () => {
    const regions: string[] = [];
    const ecrFor = (region: string) => {
      regions.push(`ecr:${region}`);
      return new ECRClient({ region });
    };
    const secretsFor = (region: string) => {
      regions.push(`secrets:${region}`);
      return new SecretsManagerClient({ region });
    };
    const given = staticCredentials("me", "pw");
    const resolve = credentialsFor({
      ecr: ecrFor,
      secrets: secretsFor,
      secretArns: { "ghcr.io": SECRET_ARN, "docker.io": SECRET_ARN },
      providers: { "quay.io": given },
    });
    expect(resolve(ECR_HOST)?.preemptive).toBe(true);
    expect(resolve("ghcr.io")).toBeTypeOf("function");
    expect(resolve("registry-1.docker.io")).toBeTypeOf("function"); // docker.io is Docker Hub's API host
    expect(resolve("quay.io")).toBe(given);
    expect(resolve("public.example.com")).toBeUndefined();
    expect(regions).toEqual(["ecr:eu-central-1", "secrets:us-east-2", "secrets:us-east-2"]);
  });
});

describe("dockerConfigCredentials", () => {
  it("reads inline auths, maps Docker Hub's legacy key, gives logins without one to credsStore, and skips malformed entries", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gitpod-dr-docker-"));
    try {
      await writeFile(
        join(dir, "config.json"),
        JSON.stringify({
          credsStore: "desktop",
          auths: {
            "https://index.docker.io/v1/": { auth: Buffer.from("hubuser:hubpass").toString("base64") },
            "ghcr.io": { auth: Buffer.from("gh:token:with:colons").toString("base64") },
            "helper-only.example.com": {},
            "bad.example.com": { auth: Buffer.from("no-colon").toString("base64") },
          },
        }),
      );
      const providers = await dockerConfigCredentials({ DOCKER_CONFIG: dir });
      // helper-only.example.com's login is in the "desktop" helper: asked only when the registry challenges.
      expect(Object.keys(providers).sort()).toEqual([
        "ghcr.io",
        "helper-only.example.com",
        "registry-1.docker.io",
      ]);
      expect(await providers["registry-1.docker.io"]?.()).toEqual({
        username: "hubuser",
        password: "hubpass",
      });
      expect(await providers["ghcr.io"]?.()).toEqual({ username: "gh", password: "token:with:colons" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives nothing when there is no config file", async () => {
    expect(
      await dockerConfigCredentials({ DOCKER_CONFIG: join(tmpdir(), "gitpod-dr-does-not-exist") }),
    ).toEqual({});
  });
});
