/**
 * The fake kotsadm against kotsadm's own rules (replicatedhq/kots pkg/handlers/config.go, app.go,
 * session.go; issue 17 §2): a merge takes only keys the base version's ConfigValues hold
 * (`mergeConfigValues`: "new values contain unknown keys" → 500 "failed to create new config"), values its
 * config validation refuses are a 400 with `validationErrors` as kotsadm writes them, every config call is
 * a new app version, and the versions and a version's config read as GetAppVersionHistory and
 * CurrentAppConfig answer them. Then what gitpod-dr's client makes of those answers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { setConfigValues } from "../../packages/core/src/kots/client.ts";
import { KotsApiError } from "../../packages/core/src/kots/errors.ts";
import { type FakeKotsadm, startFakeKotsadm } from "../../packages/sim/src/kube/kotsadm.ts";
import { type KubeApi, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  KOTSADM_AUTHSTRING,
  rejection,
  seedKotsadmAuth,
} from "../../packages/sim/src/kube/velero-cluster.ts";

let api: KubeApi;
let kots: FakeKotsadm | undefined;

beforeEach(async () => {
  api = await startKubeApi({ authenticate: () => undefined });
  seedKotsadmAuth(api.store);
});
afterEach(async () => {
  await kots?.stop();
  kots = undefined;
  await api.stop();
});

const post = (values: Record<string, string>, fields: Record<string, unknown> = {}) =>
  fetch(`${kots?.url}/api/v1/app/gitpod/config/values`, {
    method: "POST",
    headers: { Authorization: KOTSADM_AUTHSTRING, "Content-Type": "application/json" },
    body: JSON.stringify({
      configValues: Buffer.from(
        stringify({
          apiVersion: "kots.io/v1beta1",
          kind: "ConfigValues",
          spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
        }),
      ).toString("base64"),
      merge: true,
      deploy: true,
      ...fields,
    }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe("the fake follows kotsadm's merge and validation", () => {
  it("a merge of a config item the current ConfigValues do not hold: 500 failed to create new config, nothing changed", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old" }, items: ["db_host", "reg_url"] } },
    });
    expect(await post({ db_host: "new", reg_url: "r.example.com" })).toEqual({
      status: 500,
      body: { success: false, error: "failed to create new config" },
    });
    expect(kots.values("gitpod")).toEqual({ db_host: "old" });
    expect(await post({ db_host: "new" })).toEqual({ status: 200, body: { success: true } });
  });

  it("values the app's validation refuses: 400 with validationErrors, nothing changed", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old" }, invalid: { db_host: "must be a host name" } } },
    });
    expect(await post({ db_host: "not a host" })).toEqual({
      status: 400,
      body: {
        success: false,
        error: "failed to validate config values",
        validationErrors: [
          {
            name: "settings",
            title: "Settings",
            item_errors: [
              { name: "db_host", type: "text", validation_errors: [{ message: "must be a host name" }] },
            ],
          },
        ],
      },
    });
    expect(kots.values("gitpod")).toEqual({ db_host: "old" });
  });
});

const get = (path: string, auth: string | null = KOTSADM_AUTHSTRING) =>
  fetch(`${kots?.url}${path}`, { headers: auth === null ? {} : { Authorization: auth } }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));

describe("the fake follows kotsadm's versions and config reads", () => {
  it("every config call is a new version; GET versions lists them newest first as GetAppVersionHistory", async () => {
    kots = await startFakeKotsadm({ store: api.store, apps: { gitpod: { values: { db_host: "old" } } } });
    await post({ db_host: "new" });
    const answer = await get("/api/v1/app/gitpod/versions");
    expect(answer.status).toBe(200);
    const history = JSON.parse(answer.body) as {
      versionHistory: Record<string, unknown>[];
      totalCount: number;
    };
    expect(history.totalCount).toBe(2);
    expect(history.versionHistory.map((v) => [v.sequence, v.source, v.status])).toEqual([
      [1, "Config Change", "deploying"],
      [0, "Online Install", "deployed"],
    ]);
    expect(history.versionHistory[0]).toMatchObject({ parentSequence: 1, preflightSkipped: false });
    expect(Date.parse(String(history.versionHistory[0]?.deployedAt))).toBeGreaterThan(
      Date.parse(String(history.versionHistory[1]?.deployedAt)),
    );
    kots.tick();
    const after = JSON.parse((await get("/api/v1/app/gitpod/versions?pageSize=1")).body);
    expect(after.versionHistory).toEqual([expect.objectContaining({ sequence: 1, status: "deployed" })]);
    expect(await get("/api/v1/app/gitpod/versions?pageSize=x")).toEqual({ status: 400, body: "" });
    // kotsadm only logs "failed to get app from slug" here: a bare 500.
    expect(await get("/api/v1/app/nope/versions")).toEqual({ status: 500, body: "" });
  });

  it("GET config/{sequence}: that version's values as config groups; kotsadm's 500s for what it cannot read", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old" }, items: ["db_host", "db_port"] } },
    });
    await post({ db_host: "new" });
    const config = async (sequence: string) =>
      JSON.parse((await get(`/api/v1/app/gitpod/config/${sequence}`)).body);
    expect((await config("0")).configGroups).toEqual([
      {
        name: "settings",
        title: "Settings",
        items: [
          { name: "db_host", type: "text", default: "", value: "old" },
          { name: "db_port", type: "text", default: "", value: "" },
        ],
      },
    ]);
    expect(await config("1")).toMatchObject({ success: true, downstreamVersion: null });
    expect((await config("1")).configGroups[0].items[0].value).toBe("new");
    expect(await get("/api/v1/app/gitpod/config/7")).toEqual({
      status: 500,
      body: JSON.stringify({ success: false, error: "failed to get downstream version status" }),
    });
    // GET …/config/values is this route with the sequence "values" (gorilla/mux matches by method too).
    expect(await get("/api/v1/app/gitpod/config/values")).toEqual({
      status: 500,
      body: JSON.stringify({ success: false, error: "failed to parse app sequence" }),
    });
    expect(await get("/api/v1/app/nope/config/0")).toEqual({
      status: 500,
      body: JSON.stringify({ success: false, error: "failed to get app from app slug" }),
    });
  });

  it("authentication before anything: kotsadm's session errors, never the header; routing before that", async () => {
    kots = await startFakeKotsadm({ store: api.store });
    expect(await get("/api/v1/app/gitpod/versions", null)).toEqual({
      status: 401,
      body: JSON.stringify({ error: "missing authorization token", success: false }),
    });
    expect(await get("/api/v1/app/gitpod/versions", "Kots not-it")).toEqual({
      status: 401,
      body: JSON.stringify({ error: "failed to parse authorization header", success: false }),
    });
    expect(await get("/api/v1/app/gitpod/nothing")).toEqual({ status: 404, body: "404 page not found\n" });
    const wrongMethod = await fetch(`${kots.url}/api/v1/app/gitpod/versions`, { method: "POST" });
    expect(wrongMethod.status).toBe(405);
  });

  it("current: true bases the version on the deployed one; without a deployed version kotsadm refuses", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old", x: "1" } } },
    });
    await post({ db_host: "undeployed" }, { deploy: false });
    expect(kots.values("gitpod")).toEqual({ db_host: "undeployed", x: "1" });
    await post({ x: "2" }, { current: true });
    expect(kots.versions("gitpod")?.map((v) => v.values)).toEqual([
      { db_host: "old", x: "1" },
      { db_host: "undeployed", x: "1" },
      // Based on version 0, the deployed one: version 1's undeployed db_host is not in it.
      { db_host: "old", x: "2" },
    ]);
  });

  it("strict preflights: a deploying call waits for them and answers after; a failure is 500 failed to deploy", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old" }, strictPreflights: "fail" } },
    });
    const answer = post({ db_host: "new" }, { skipPreflights: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // skipPreflights does not skip strict ones: the version waits for them.
    expect(kots.versions("gitpod")?.[1]).toMatchObject({
      status: "pending_preflight",
      preflightSkipped: false,
    });
    kots.tick();
    expect(await answer).toEqual({ status: 500, body: { success: false, error: "failed to deploy" } });
    expect(kots.versions("gitpod")?.[1]).toMatchObject({
      status: "pending",
      hasFailingStrictPreflights: true,
    });
    expect(kots.deploys).toEqual([]);
  });
});

describe("the client with those answers", () => {
  it("an unset item: says kotsadm merges only keys the app's ConfigValues hold, and what to do", async () => {
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: "old" }, items: ["db_host", "reg_url"] } },
    });
    const error = await rejection(
      setConfigValues(fetch, {
        url: kots.url,
        appSlug: "gitpod",
        auth: KOTSADM_AUTHSTRING,
        values: { db_host: "new", reg_url: "r.example.com" },
      }),
    );
    expect(error).toBeInstanceOf(KotsApiError);
    expect(error.message).toContain(
      "kotsadm merges only items the app's current config values already hold: set each of db_host, reg_url once in the Admin Console",
    );
  });
});
