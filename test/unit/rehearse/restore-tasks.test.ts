import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clients, useClientCache } from "../../../packages/functions/src/lib/cache.ts";
import { env, reloadEnv } from "../../../packages/functions/src/lib/env.ts";
import { restoreConfig } from "../../../packages/functions/src/lib/restore-deps.ts";
import { localFetch } from "../../../packages/sim/src/rehearse/restore-tasks.ts";

describe("the handlers' seams the rehearsal uses", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    reloadEnv();
  });

  it("useClientCache: the handlers' cache (and the configuration parsed in it) is the run's until put back", () => {
    const original = clients;
    const run = new ClientCache();
    const putBack = useClientCache(run);
    expect(clients).toBe(run);
    vi.stubEnv("GITPOD_DR_CONFIG", "{}");
    reloadEnv();
    // Parsed in the run's cache: a bad configuration fails there, naming the problem.
    expect(() => restoreConfig()).toThrow(expect.objectContaining({ name: "ConfigError" }));
    expect(() => restoreConfig()).toThrow(/^Invalid restore configuration/);
    putBack();
    expect(clients).toBe(original);
  });

  it("reloadEnv: the handlers read the environment set for the run, and the previous one after", () => {
    vi.stubEnv("GITPOD_DR_TOPIC_ARN", "arn:aws:sns:eu-central-1:123456789012:gitpod-dr-example-alerts");
    vi.stubEnv("AWS_REGION", "eu-central-1");
    reloadEnv();
    expect(env).toMatchObject({
      topicArn: "arn:aws:sns:eu-central-1:123456789012:gitpod-dr-example-alerts",
      region: "eu-central-1",
    });
    expect(Object.isFrozen(env)).toBe(true);
    vi.unstubAllEnvs();
    reloadEnv();
    expect(env.topicArn).toBe(process.env.GITPOD_DR_TOPIC_ARN ?? "");
  });
});

describe("localFetch", () => {
  const base = vi.fn(async () => new Response("from 127.0.0.1"));
  const fetch = localFetch(
    "https://gitpod.example.com/api/version",
    base as unknown as typeof globalThis.fetch,
  );

  it("answers the application's health URL as the restored Gitpod does", async () => {
    const res = await fetch("https://gitpod.example.com/api/version");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: "rehearsal" });
    expect(base).not.toHaveBeenCalled();
  });

  it("passes 127.0.0.1 to the real fetch and refuses any other address", async () => {
    expect(await (await fetch("http://127.0.0.1:8800/api/v1/app/gitpod")).text()).toBe("from 127.0.0.1");
    await expect(fetch("https://kotsadm.example.com/api")).rejects.toThrow(
      "the simulation reaches only 127.0.0.1, not kotsadm.example.com",
    );
    expect(base).toHaveBeenCalledTimes(1);
  });
});
