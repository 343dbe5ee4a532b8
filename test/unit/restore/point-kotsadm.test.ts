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
} from "../../../packages/sim/src/restore/application.ts";

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

/** What kotsadm holds: its versions (newest last here) and each one's config values. */
interface Held {
  versions: Record<string, unknown>[];
  configs: Record<number, Record<string, string>>;
}

/**
 * A fetch answering the reads with `held` (by default: no version) and every post with `status` and
 * `body`, recording the posts.
 */
function answering(status: number, body: unknown, held: Held = { versions: [], configs: {} }) {
  const calls: { url: string; body: Record<string, unknown> }[] = [];
  const json = (value: unknown, code = 200) =>
    new Response(JSON.stringify(value), { status: code, headers: { "Content-Type": "application/json" } });
  const fetcher: typeof fetch = async (input, init) => {
    const url = new globalThis.URL(String(input));
    if (init?.method === "GET" && url.pathname.endsWith("/versions")) {
      return json({ versionHistory: [...held.versions].reverse(), totalCount: held.versions.length });
    }
    if (init?.method === "GET") {
      const values = held.configs[Number(url.pathname.split("/").pop())] ?? {};
      const items = Object.entries(values).map(([name, value]) => ({ name, type: "text", value }));
      return json({ success: true, downstreamVersion: null, configGroups: [{ name: "settings", items }] });
    }
    calls.push({ url: String(input), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return json(body, status);
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
      error: "failed to validate config values",
      // pkg/kotsadmconfig/types ConfigGroupValidationError, as kotsadm writes it.
      validationErrors: [
        {
          name: "database",
          title: "Database",
          item_errors: [
            { name: "db_host", type: "text", validation_errors: [{ message: "must be a host name" }] },
          ],
        },
      ],
    });
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error.message).toContain("failed to validate config values: db_host: must be a host name");
    expect((error as PointApplicationFailedError).retryable).toBe(false);
  });
});

describe("pointing twice (a retry after a timeout; against the fake kotsadm: kots-point-retry.test.ts)", () => {
  const primary = { ...plan, endpoints: {} };
  const deployed = (sequence: number, status = "deployed", at = "2026-11-26T09:00:00Z") => ({
    sequence,
    status,
    source: sequence === 0 ? "Online Install" : "Config Change",
    deployedAt: at,
  });

  it.each(["deployed", "deploying"])(
    "the current version holds the target values (%s): nothing posted, the result names it",
    async (status) => {
      kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
      const { calls, fetcher } = answering(
        200,
        { success: true },
        {
          versions: [deployed(0), deployed(1, status, "2026-11-26T09:59:00Z")],
          configs: { 0: { db_host: "old-db.internal" }, 1: { db_host: DB_HOST, other: "kept" } },
        },
      );
      const result = await pointApplication(primary, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher }));
      expect(calls).toEqual([]);
      expect(result).toMatchObject({ mode: "kots", kotsAction: status, kotsSequence: 1 });
    },
  );

  it("an older deployed version holds them, the current one does not (rolled back): posted", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    const { calls, fetcher } = answering(
      200,
      { success: true },
      {
        versions: [
          deployed(0, "deployed", "2026-11-26T09:59:00Z"),
          deployed(1, "deployed", "2026-11-26T09:00:00Z"),
        ],
        configs: { 0: { db_host: "old-db.internal" }, 1: { db_host: DB_HOST } },
      },
    );
    const result = await pointApplication(primary, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher }));
    expect(calls).toHaveLength(1);
    expect(result).toMatchObject({ kotsAction: "posted" });
  });

  it("the versions cannot be read (a bare 500, kotsadm restarting): retryable, nothing posted", async () => {
    kotsadm("deployments", "kotsadm/kotsadm:v1.124.0");
    const posts: string[] = [];
    const fetcher: typeof fetch = async (input, init) => {
      if (init?.method === "POST") posts.push(String(input));
      return new Response("", { status: 500 });
    };
    const error = await rejection(
      pointApplication(primary, { endpoint: DB_HOST }, kots(), deps({ fetch: fetcher })),
    );
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain("kotsadm answered 500 to reading the app versions");
    expect((error as PointApplicationFailedError).retryable).toBe(true);
    expect(posts).toEqual([]);
  });
});
