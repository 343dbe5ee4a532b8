/**
 * "Point application" retried against the fake kotsadm (issue 17 §2): every config call is a new app
 * version, and a call can outlive the function's timeout (kotsadm waits up to 15 minutes for strict
 * preflights, and goes on when the client stopped waiting). A retried point step must leave exactly one
 * new version, and say whether it posted or found one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PointApplicationFailedError } from "../../packages/core/src/restore/errors.ts";
import { checkPointed, pointApplication } from "../../packages/core/src/restore/point.ts";
import {
  type FakeKotsadm,
  type KotsadmAppSeed,
  startFakeKotsadm,
} from "../../packages/sim/src/kube/kotsadm.ts";
import { type KubeApi, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  KOTSADM_AUTHSTRING,
  secretData,
  seedKotsadmAuth,
} from "../../packages/sim/src/kube/velero-cluster.ts";
import {
  config,
  DB_HOST,
  deps,
  kube,
  plan,
  rejection,
  useApplicationWorld,
} from "../../packages/sim/src/restore/application.ts";

useApplicationWorld();

let api: KubeApi;
let kots: FakeKotsadm | undefined;

beforeEach(async () => {
  // kotsadm's auth string and the Secret its deploys render live in the simulator's store; the step
  // reads the auth string and kotsadm's workload from the in-memory cluster of the unit world.
  api = await startKubeApi({ authenticate: () => undefined });
  seedKotsadmAuth(api.store);
  kube.secrets.set("gitpod/kotsadm-authstring", { "kotsadm-authstring": KOTSADM_AUTHSTRING });
  kube.workloads.statefulsets.push({
    metadata: { name: "kotsadm", namespace: "gitpod" },
    spec: { template: { spec: { containers: [{ name: "kotsadm", image: "kotsadm/kotsadm:v1.124.0" }] } } },
  });
});
afterEach(async () => {
  await kots?.stop();
  kots = undefined;
  await api.stop();
});

const INSTALLED = {
  db_host: "gitpod-db.old.eu-west-1.rds.amazonaws.com",
  store_s3_bucket: "gitpod-workspaces",
  store_region: "eu-west-1",
  reg_url: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
};

async function kotsadm(seed: Partial<KotsadmAppSeed> = {}): Promise<FakeKotsadm> {
  kots = await startFakeKotsadm({ store: api.store, apps: { gitpod: { values: INSTALLED, ...seed } } });
  return kots;
}

const cfg = () => config({ point: { kind: "kots", url: kots?.url, appSlug: "gitpod", namespace: "gitpod" } });

/** The function's own timeout, short: the call is abandoned, kotsadm goes on with it. */
const impatient: typeof fetch = (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(300) });

const posts = () => kots?.calls.filter((c) => c.method === "POST") ?? [];
const point = (fetcher: typeof fetch = fetch) =>
  pointApplication(plan, { endpoint: DB_HOST }, cfg(), deps({ fetch: fetcher }));

describe("a retried point step creates exactly one app version", () => {
  it("strict preflights hold the deploy past the timeout: the retry waits for that version, then finds it deployed", async () => {
    const k = await kotsadm({ strictPreflights: "pass" });

    const timedOut = await rejection(point(impatient));
    expect(timedOut).toBeInstanceOf(PointApplicationFailedError);
    expect((timedOut as PointApplicationFailedError).retryable).toBe(true);
    expect(k.versions("gitpod")?.map((v) => [v.sequence, v.status])).toEqual([
      [0, "deployed"],
      [1, "pending_preflight"],
    ]);

    // Step Functions retries while kotsadm still waits for the preflights.
    const retry = await point();
    expect(retry).toMatchObject({ mode: "kots", kotsAction: "awaitingPreflights", kotsSequence: 1 });

    k.tick(); // the preflights pass: kotsadm deploys version 1
    k.tick();
    const again = await point();
    expect(again).toMatchObject({ kotsAction: "deployed", kotsSequence: 1 });

    expect(posts()).toHaveLength(1);
    expect(k.versions("gitpod")?.map((v) => [v.sequence, v.source, v.status])).toEqual([
      [0, "Online Install", "deployed"],
      [1, "Config Change", "deployed"],
    ]);
    expect(k.versions("gitpod")?.[1]?.values).toEqual({
      db_host: DB_HOST,
      store_s3_bucket: "gitpod-workspaces-replica",
      store_region: "eu-central-1",
      reg_url: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
    });
    // kotsadm's deploy rendered the database Secret from version 1.
    expect(secretData(api.store, "gitpod", "database")?.host).toBe(DB_HOST);
  });

  it("the answer was lost after kotsadm took the call: the retry finds the version being deployed", async () => {
    const k = await kotsadm();
    // kotsadm answers the post, the answer never arrives (a reset connection).
    const lost: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === "POST") throw new TypeError("fetch failed");
      return response;
    };
    const first = await rejection(point(lost));
    expect((first as PointApplicationFailedError).retryable).toBe(true);

    const retry = await point();
    expect(retry).toMatchObject({ kotsAction: "deploying", kotsSequence: 1 });
    expect(posts()).toHaveLength(1);
    expect(k.versions("gitpod")).toHaveLength(2);
  });

  it("the strict preflights failed: refused without another version, naming the version to fix", async () => {
    const k = await kotsadm({ strictPreflights: "fail" });
    await rejection(point(impatient));
    k.tick();

    const error = await rejection(point());
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect((error as PointApplicationFailedError).retryable).toBe(false);
    expect(error.message).toContain("kotsadm's app version 1");
    expect(error.message).toContain("failed its strict preflights");
    expect(posts()).toHaveLength(1);
    expect(k.versions("gitpod")?.map((v) => [v.sequence, v.status, v.hasFailingStrictPreflights])).toEqual([
      [0, "deployed", undefined],
      [1, "pending", true],
    ]);
  });

  it("found waiting for strict preflights that then fail: Check configuration says so at once, not at its deadline", async () => {
    const k = await kotsadm({ strictPreflights: "fail" });
    await rejection(point(impatient));
    const waiting = await point();
    expect(waiting).toMatchObject({ kotsAction: "awaitingPreflights", kotsSequence: 1 });
    // Still running: Check configuration waits (the Secret does not name the restored host yet).
    expect(await checkPointed(plan, waiting, cfg(), deps())).toMatchObject({ done: false });

    k.tick(); // the strict preflights fail
    const error = await rejection(checkPointed(plan, waiting, cfg(), deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain("kotsadm's app version 1");
    expect(error.message).toContain("failed its strict preflights");
    expect(posts()).toHaveLength(1);
  });

  it("nothing held yet (a first run, or values that differ): posted, and the result says so", async () => {
    const k = await kotsadm({ values: { ...INSTALLED, db_host: "gitpod-db.other.rds.amazonaws.com" } });
    const result = await point();
    expect(result).toMatchObject({ kotsAction: "posted" });
    expect(result).not.toHaveProperty("kotsSequence");
    expect(posts()).toHaveLength(1);
    expect(k.versions("gitpod")).toHaveLength(2);
  });
});

describe("kotsadm's refusals of the reads", () => {
  it("an unknown app slug (a bare 500 on the versions route): named, not retried, nothing posted", async () => {
    await kotsadm();
    const wrongSlug = config({
      point: { kind: "kots", url: kots?.url, appSlug: "gitpod-typo", namespace: "gitpod" },
    });
    const error = await rejection(pointApplication(plan, { endpoint: DB_HOST }, wrongSlug, deps()));
    expect(error).toBeInstanceOf(PointApplicationFailedError);
    expect(error.message).toContain(
      "kotsadm has no app with slug gitpod-typo: check restore.application.point.appSlug",
    );
    expect((error as PointApplicationFailedError).retryable).toBe(false);
    expect(posts()).toEqual([]);
  });
});
