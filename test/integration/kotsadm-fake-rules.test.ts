/**
 * The fake kotsadm against kotsadm's own rules (replicatedhq/kots pkg/handlers/config.go, issue 17 §2):
 * a merge takes only keys the app's CURRENT ConfigValues hold (`mergeConfigValues`: "new values contain
 * unknown keys" → 500 "failed to create new config"), and values its config validation refuses are a
 * 400 with `validationErrors`. Then what gitpod-dr's client makes of those answers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { setConfigValues } from "../../packages/core/src/kots/client.ts";
import { KotsApiError } from "../../packages/core/src/kots/errors.ts";
import { type FakeKotsadm, startFakeKotsadm } from "../fixtures/kube/kotsadm.ts";
import { type KubeApi, startKubeApi } from "../fixtures/kube/server.ts";
import { KOTSADM_AUTHSTRING, rejection, seedKotsadmAuth } from "../fixtures/kube/velero-cluster.ts";

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

const post = (values: Record<string, string>) =>
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
        error: "invalid config values",
        validationErrors: [
          {
            name: "config",
            items: [{ name: "db_host", validationErrors: [{ message: "must be a host name" }] }],
          },
        ],
      },
    });
    expect(kots.values("gitpod")).toEqual({ db_host: "old" });
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
