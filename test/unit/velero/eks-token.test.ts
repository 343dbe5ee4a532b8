import { describe, expect, it } from "vitest";
import { eksToken, stsHost, TOKEN_PREFIX } from "../../../packages/core/src/velero/eks-token.ts";

const CREDENTIALS = {
  accessKeyId: "AKIAEXAMPLEKEY123456",
  secretAccessKey: "secret/Key+Value",
  sessionToken: "session-token-value",
};
const NOW = new Date("2026-11-26T03:00:07Z");

function decode(token: string): URL {
  expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
  const body = token.slice(TOKEN_PREFIX.length);
  // base64url without padding, as aws-iam-authenticator writes it.
  expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(body, "base64url").toString("utf8"));
}

describe("eksToken", () => {
  it("is a presigned STS GetCallerIdentity URL whose signature covers the cluster header, valid 60 s", async () => {
    const { token, refreshAt } = await eksToken({
      clusterName: "gitpod",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      now: NOW,
    });
    const url = decode(token);
    const q = url.searchParams;
    expect(url.protocol).toBe("https:");
    expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/");
    expect(q.get("Action")).toBe("GetCallerIdentity");
    expect(q.get("Version")).toBe("2011-06-15");
    expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(q.get("X-Amz-Credential")).toBe("AKIAEXAMPLEKEY123456/20261126/eu-west-1/sts/aws4_request");
    expect(q.get("X-Amz-Date")).toBe("20261126T030007Z");
    expect(q.get("X-Amz-Expires")).toBe("60");
    expect(q.get("X-Amz-Security-Token")).toBe("session-token-value");
    expect(q.get("X-Amz-SignedHeaders")?.split(";").sort()).toEqual(["host", "x-k8s-aws-id"]);
    expect(q.get("X-Amz-Signature")).toMatch(/^[a-f0-9]{64}$/);
    // Used for 10 of the 15 minutes EKS accepts it.
    expect(refreshAt.toISOString()).toBe("2026-11-26T03:10:07.000Z");
  });

  it("signs for the cluster it names: another cluster gives another signature", async () => {
    const a = decode(
      (await eksToken({ clusterName: "a", region: "eu-west-1", credentials: CREDENTIALS, now: NOW })).token,
    );
    const b = decode(
      (await eksToken({ clusterName: "b", region: "eu-west-1", credentials: CREDENTIALS, now: NOW })).token,
    );
    expect(a.searchParams.get("X-Amz-Signature")).not.toBe(b.searchParams.get("X-Amz-Signature"));
  });

  it("uses the region's STS endpoint, including China", () => {
    expect(stsHost("us-east-1")).toBe("sts.us-east-1.amazonaws.com");
    expect(stsHost("cn-north-1")).toBe("sts.cn-north-1.amazonaws.com.cn");
  });

  it("does not carry the secret access key", async () => {
    const { token } = await eksToken({
      clusterName: "gitpod",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      now: NOW,
    });
    expect(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString()).not.toContain("secret");
  });
});
