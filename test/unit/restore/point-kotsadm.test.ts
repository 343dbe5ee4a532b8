import { describe, expect, it } from "vitest";
import { PointApplicationFailedError } from "../../../packages/core/src/restore/errors.ts";
import { pointApplication } from "../../../packages/core/src/restore/point.ts";
import type { Deployment } from "../../../packages/core/src/velero/kube.ts";
import {
  AUTH,
  config,
  DB_HOST,
  deps,
  kube,
  plan,
  rejection,
  useApplicationWorld,
} from "../../fixtures/restore/application.ts";

/**
 * "Point application" in KOTS mode against kotsadm as it is installed and as it answers (issue 17 §2):
 * `current: true` is read only by kotsadm v1.108.0 and later; an unknown slug is a 500; validation
 * failures are a 400 with `validationErrors`.
 */

useApplicationWorld();

const URL = "http://kotsadm.kots.svc:3000";
const kots = () => config({ point: { kind: "kots", url: URL, appSlug: "gitpod", namespace: "kots" } });

function kotsadm(kind: "deployments" | "statefulsets", image: string): void {
  const w: Deployment = {
    metadata: { name: "kotsadm", namespace: "kots" },
    spec: { template: { spec: { containers: [{ name: "kotsadm", image }] } } },
  };
  kube.workloads[kind].push(w);
  kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
}

/** A fetch answering every call with `status` and `body`, recording the calls. */
function answering(status: number, body: unknown) {
  const calls: { url: string; body: Record<string, unknown> }[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    calls.push({ url: String(input), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  return { calls, fetcher };
}

describe("kotsadm's version", () => {
  it("below v1.108.0 (no `current`): refused before anything is posted, saying why and what to do", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.107.3");
    const { calls, fetcher } = answering(200, { success: true });
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain("kotsadm v1.107.3 (Deployment kots/kotsadm) is older than v1.108.0");
    expect(error.message).toContain("downloaded but undeployed update");
    expect((error as PointApplicationFailedError).retryable).toBe(false);
    expect(calls).toEqual([]);
  });

  it("a StatefulSet kotsadm (KOTS without MinIO) at v1.124.0: posted with current: true", async () => {
    kotsadm("statefulsets", "kotsadm/kotsadm:v1.124.0");
    const { calls, fetcher } = answering(200, { success: true });
    const result = await pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher }));
    expect(result.mode).toBe("kots");
    expect(result.kotsadm).toBe("StatefulSet kots/kotsadm v1.124.0");
    expect(calls[0]?.body).toMatchObject({ current: true, merge: true, deploy: true });
  });

  it("a version the image does not tell: posted, with a warning in the result", async () => {
    kotsadm("deployments", `kotsadm/kotsadm@sha256:${"a".repeat(64)}`);
    const { fetcher } = answering(200, { success: true });
    const result = await pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher }));
    expect(result.warnings).toEqual([
      expect.stringContaining("kotsadm's version is unknown (image kotsadm/kotsadm@sha256:"),
    ]);
  });

  it("no kotsadm in the point namespace: refused, nothing posted", async () => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    const { calls, fetcher } = answering(200, { success: true });
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error.message).toContain("no kotsadm Deployment or StatefulSet in kots");
    expect(calls).toEqual([]);
  });
});

describe("kotsadm's answers", () => {
  it("500 for an unknown app slug: says the slug is unknown, not retried", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    const { fetcher } = answering(500, { success: false, error: "failed to get app from app slug" });
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error.message).toContain(
      "(kotsadm has no app with slug gitpod: check restore.application.point.appSlug)",
    );
    expect((error as PointApplicationFailedError).retryable).toBe(false);
  });

  it("400 with validationErrors: each item and message is shown", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    const { fetcher } = answering(400, {
      success: false,
      error: "invalid config values",
      validationErrors: [
        {
          name: "database",
          items: [{ name: "db_host", validationErrors: [{ message: "must be a host name" }] }],
        },
      ],
    });
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error.message).toContain("invalid config values: db_host: must be a host name");
    expect((error as PointApplicationFailedError).retryable).toBe(false);
  });
});

describe("pointing twice (a retry after a timeout)", () => {
  const primary = { ...plan, endpoints: {} };

  it("the database Secret already renders the target host: no second app version is created", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    kube.secrets.set("gitpod/database", { host: DB_HOST, port: "5432" });
    const { calls, fetcher } = answering(200, { success: true });
    const result = await pointApplication(
      primary,
      { endpoint: DB_HOST, port: 5432 },
      kots(),
      deps({ fetch: fetcher }),
    );
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ mode: "kots", values: { db_host: DB_HOST }, alreadySet: true });
  });

  it("the Secret names another host: posted", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    kube.secrets.set("gitpod/database", { host: "old-db.internal", port: "5432" });
    const { calls, fetcher } = answering(200, { success: true });
    const result = await pointApplication(
      primary,
      { endpoint: DB_HOST, port: 5432 },
      kots(),
      deps({ fetch: fetcher }),
    );
    expect(calls).toHaveLength(1);
    expect(result).not.toHaveProperty("alreadySet");
  });
});
