import { ECRClient } from "@aws-sdk/client-ecr";
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { ClientCache } from "../../../packages/core/src/aws/cache.ts";

describe("ClientCache", () => {
  it("keeps one client per class, region and options", async () => {
    const cache = new ClientCache();

    const s3 = cache.client(S3Client, "eu-west-1");
    const redirecting = cache.client(S3Client, "eu-west-1", { config: { followRegionRedirects: true } });

    expect(cache.client(S3Client, "eu-west-1")).toBe(s3);
    expect(cache.client(S3Client, "eu-central-1")).not.toBe(s3);
    expect(redirecting).not.toBe(s3);
    expect(cache.client(S3Client, "eu-west-1", { config: { followRegionRedirects: true } })).toBe(
      redirecting,
    );
    expect(cache.client(ECRClient, "eu-west-1")).toBeInstanceOf(ECRClient);
    expect(await s3.config.region()).toBe("eu-west-1");
    expect(redirecting.config.followRegionRedirects).toBe(true);
    expect(s3.config.customUserAgent).toEqual([["gitpod-dr"]]);
  });

  it("keeps a value per key, and forgets a promise that rejects so the next call tries again", async () => {
    const cache = new ClientCache();
    let made = 0;
    const connect = () =>
      cache.value("cluster", () => {
        made++;
        return made === 1 ? Promise.reject(new Error("not yet")) : Promise.resolve(made);
      });

    await expect(connect()).rejects.toThrow("not yet");
    expect(await connect()).toBe(2);
    expect(await connect()).toBe(2);
    expect(made).toBe(2);
  });
});
