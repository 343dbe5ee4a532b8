import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  PointApplicationFailedError,
  RestoreDeadlineExceededError,
} from "../../../packages/core/src/restore/errors.ts";
import {
  checkPointed,
  type PointResult,
  pointApplication,
} from "../../../packages/core/src/restore/point.ts";
import {
  ACCOUNT,
  AUTH,
  askedClusters,
  cloudwatchMock,
  config,
  DB_HOST,
  deps,
  type Json,
  kube,
  minutesLater,
  plan,
  rejection,
  START,
  setClock,
  useApplicationWorld,
} from "../../../packages/sim/src/restore/application.ts";

/** "Point application at restored endpoints" (KOTS config or the Secret) and "Check configuration". */

useApplicationWorld();

describe("pointApplication", () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string };
  let received: {
    method?: string | undefined;
    path?: string | undefined;
    headers: IncomingHttpHeaders;
    body: string;
  }[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      req.on("end", () => {
        res.writeHead(req.method === "GET" ? 200 : answer.status, { "Content-Type": "application/json" });
        // Reading what kotsadm holds first: an app with no deployed version holds nothing (see
        // point-kotsadm.test.ts and the fake kotsadm for what it does with the answers).
        if (req.method === "GET") {
          res.end(JSON.stringify({ versionHistory: [], totalCount: 0 }));
          return;
        }
        received.push({ method: req.method, path: req.url, headers: req.headers, body });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    received = [];
    answer = { status: 200, body: "{}" };
    // kotsadm runs in the point namespace (a version that reads `current: true`).
    kube.workloads.deployments.push({
      metadata: { name: "kotsadm", namespace: "kots" },
      spec: { template: { spec: { containers: [{ name: "kotsadm", image: "kotsadm/kotsadm:v1.124.0" }] } } },
    });
  });

  const kots = (extra: Json = {}) =>
    config({ point: { kind: "kots", url: `${url}/`, appSlug: "gitpod", namespace: "kots", ...extra } });

  it("secret mode: patches the database Secret's host and port, keeping its other keys", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal", port: "3306", password: "pw" });
    const { endpoints: _, ...rest } = plan;
    const primaryPlan = { ...rest, endpoints: {} };

    const result = await pointApplication(primaryPlan, { endpoint: DB_HOST, port: 5432 }, config(), deps());

    expect(result).toEqual({
      mode: "secret",
      values: { host: DB_HOST, port: "5432" },
      databaseHost: DB_HOST,
      databasePort: 5432,
      startedAt: START.toISOString(),
    });
    expect(kube.secrets.get("gitpod/database")).toEqual({ host: DB_HOST, port: "5432", password: "pw" });
  });

  it("secret mode into the DR region: the database is pointed, the bucket and registry are reported as not set", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal", port: "3306" });

    const result = await pointApplication(plan, { endpoint: DB_HOST, port: 5432 }, config(), deps());

    expect(result).toMatchObject({ mode: "secret", values: { host: DB_HOST, port: "5432" } });
    expect(result.notSet).toEqual([
      "bucket gitpod-workspaces-replica (eu-central-1)",
      `registry ${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
    ]);
    expect(kube.secrets.get("gitpod/database")).toEqual({ host: DB_HOST, port: "5432" });
  });

  it("secret mode with custom keys and a missing Secret: PointApplicationFailed, nothing patched", async () => {
    const cfg = config({ databaseSecret: { name: "db-conn", hostKey: "DB_HOST", portKey: "DB_PORT" } });
    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, cfg, deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain(`Secret gitpod/db-conn does not exist`);
    expect(kube.calls.filter((c) => c.startsWith("patch"))).toEqual([]);

    kube.secrets.set("gitpod/db-conn", { DB_HOST: "old" });
    const result = await pointApplication(plan, { endpoint: DB_HOST }, cfg, deps());
    expect(result.values).toEqual({ DB_HOST: DB_HOST });
    expect(kube.secrets.get("gitpod/db-conn")).toEqual({ DB_HOST: DB_HOST });
  });

  it("nothing to point at (no database, no endpoints): mode none, the cluster untouched", async () => {
    const result = await pointApplication({ ...plan, endpoints: {} }, undefined, config(), deps());
    expect(result).toEqual({
      mode: "none",
      values: {},
      startedAt: START.toISOString(),
      finishedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual([]);
  });

  it("kots mode: posts the ConfigValues to kotsadm with its auth string, merged and deployed", async () => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    cloudwatchMock.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: "b0", Timestamps: [minutesLater(-10)], Values: [30] }],
    });
    const cfg = config(
      { point: { kind: "kots", url: `${url}/`, namespace: "kots", keys: { dbPort: "db_port" } } },
      { storageBuckets: ["gitpod-workspace-backups"] },
    );

    const result = await pointApplication(plan, { endpoint: DB_HOST, port: 5432 }, cfg, deps());

    const values = {
      db_host: DB_HOST,
      db_port: "5432",
      store_s3_bucket: "gitpod-workspaces-replica",
      store_region: "eu-central-1",
      reg_url: `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
    };
    expect(result).toEqual({
      mode: "kots",
      values,
      databaseHost: DB_HOST,
      databasePort: 5432,
      replicationLag: [
        {
          bucket: "gitpod-workspace-backups",
          seconds: 630,
          precisionSeconds: 60,
          measuredAt: minutesLater(-10).toISOString(),
        },
      ],
      startedAt: START.toISOString(),
      kotsadm: "Deployment kots/kotsadm v1.124.0",
      kotsAction: "posted",
    });
    expect(received).toHaveLength(1);
    const call = received[0];
    expect(call?.method).toBe("POST");
    expect(call?.path).toBe("/api/v1/app/gitpod/config/values");
    expect(call?.headers.authorization).toBe(AUTH);
    expect(call?.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(call?.body ?? "") as Json;
    expect(body).toEqual({
      configValues: expect.any(String),
      merge: true,
      deploy: true,
      skipPreflights: true,
      // Based on the deployed version, never on a downloaded-but-undeployed one (or, old kotsadm, the latest).
      current: true,
      sequence: -1,
    });
    const document = parse(Buffer.from(body.configValues as string, "base64").toString("utf8"));
    expect(document).toEqual({
      apiVersion: "kots.io/v1beta1",
      kind: "ConfigValues",
      spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
    });
    // KOTS renders the Secret: the function does not patch it.
    expect(kube.calls.filter((c) => c.startsWith("patch"))).toEqual([]);
    expect(askedClusters).toEqual(["gitpod-dr@eu-central-1"]);
  });

  it.each([
    [401, "kotsadm refused its own auth string", false, true],
    // kotsadm's own refusal (500 with an error, e.g. an unknown config key) will not change: not retried.
    [500, "the config values were refused", false, true],
    // A 5xx without kotsadm's error (a proxy, kotsadm restarting): retried.
    [502, "the config values were refused", true, false],
  ])(
    "kots mode, kotsadm answering %d: PointApplicationFailed without the auth string",
    async (status, hint, retryable, kotsError) => {
      kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
      const text = `refused Authorization ${AUTH} for gitpod`;
      answer = { status, body: kotsError ? JSON.stringify({ error: text }) : text };

      const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, kots(), deps()));

      expect(error).toBeInstanceOf(PointApplicationFailedError);
      expect(error.name).toBe("PointApplicationFailed");
      expect(error.message).toContain(
        `kotsadm answered ${status} to setting db_host, store_s3_bucket, store_region, reg_url (${hint})`,
      );
      expect(error.message).toContain("refused Authorization [REDACTED] for gitpod");
      expect(error.message).not.toContain(AUTH);
      expect(error.message).not.toContain("6f1d4c8e9a572f0d3c1e7b42");
      expect((error as PointApplicationFailedError).retryable).toBe(retryable);
      expect(received).toHaveLength(1);
    },
  );

  it.each([
    ["in lower case", (auth: string) => auth.toLowerCase()],
    ["base64-encoded", (auth: string) => Buffer.from(auth).toString("base64")],
    ["URL-encoded", (auth: string) => encodeURIComponent(auth)],
    ["alone", (auth: string) => auth.split(" ").pop() as string],
  ])("kots mode: kotsadm quoting its auth string %s back: not in the error", async (_, form) => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    answer = { status: 500, body: JSON.stringify({ error: `bad session ${form(AUTH)} for app gitpod` }) };

    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, kots(), deps()));

    expect(error.name).toBe("PointApplicationFailed");
    expect(error.message).toContain("bad session [REDACTED] for app gitpod");
    expect(error.message).not.toContain(form(AUTH));
  });

  it("kots mode without kotsadm's auth string: PointApplicationFailed, nothing posted", async () => {
    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, kots(), deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain("Secret kots/kotsadm-authstring has no kotsadm-authstring key");
    expect(received).toEqual([]);
  });

  it("kots mode, kotsadm unreachable: a retryable PointApplicationFailed", async () => {
    kube.secrets.set("kots/kotsadm-authstring", { "kotsadm-authstring": AUTH });
    const failing: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const error = await rejection(
      pointApplication(plan, { endpoint: DB_HOST }, kots(), deps({ fetch: failing })),
    );
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain(`Unable to reach the kotsadm API at ${url}/: fetch failed`);
    expect((error as PointApplicationFailedError).retryable).toBe(true);
  });
});

describe("checkPointed", () => {
  const point: PointResult = {
    mode: "kots",
    values: { db_host: DB_HOST },
    databaseHost: DB_HOST,
    startedAt: START.toISOString(),
  };

  it("done once the Secret names the restored host", async () => {
    kube.secrets.set("gitpod/database", { host: DB_HOST });
    setClock(minutesLater(2));
    expect(await checkPointed(plan, point, config(), deps())).toEqual({
      done: true,
      secretHost: DB_HOST,
      startedAt: START.toISOString(),
      finishedAt: minutesLater(2).toISOString(),
    });
  });

  it("not done while it names the old host; RestoreDeadlineExceeded after configDeadlineMinutes", async () => {
    kube.secrets.set("gitpod/database", { host: "old-db.internal" });
    setClock(minutesLater(14));
    expect(await checkPointed(plan, point, config(), deps())).toEqual({
      done: false,
      secretHost: "old-db.internal",
      startedAt: START.toISOString(),
    });

    setClock(minutesLater(16));
    const error = await rejection(checkPointed(plan, point, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.message).toContain(`Secret gitpod/database naming ${DB_HOST} (it names old-db.internal)`);
    expect(error.message).toContain("restore.application.configDeadlineMinutes");
  });

  it("nothing pointed: done without asking the cluster", async () => {
    const result = await checkPointed(
      plan,
      { mode: "none", values: {}, startedAt: START.toISOString() },
      config(),
      deps(),
    );
    expect(result.done).toBe(true);
    expect(askedClusters).toEqual([]);
  });
});
