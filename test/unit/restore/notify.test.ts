import { describe, expect, it } from "vitest";
import type { Notification } from "../../../packages/core/src/notify/failure.ts";
import { createdWithin, failureInput, notifyRestore } from "../../../packages/core/src/restore/notify.ts";
import type { RestorePlan, RestoreRequest } from "../../../packages/core/src/restore/types.ts";
import type { KubeOps } from "../../../packages/core/src/velero/kube.ts";

/** "Notify failure": what it takes from the state at the failure, and the bounded look-up. */

const request = { restoreId: "drill-3", region: "eu-west-1" } as RestoreRequest;
const plan = {
  restoreId: "drill-3",
  application: {
    cluster: "gitpod",
    veleroNamespace: "velero",
    restoreName: "gitpod-dr-restore-drill-3",
    modifierName: "gitpod-dr-restore-drill-3-hold",
  },
} as RestorePlan;
const failure = (state: unknown) => ({ kind: "failure" as const, state, executionName: "drill-3" });

describe("failureInput", () => {
  it("takes the request and plan of a state that passed Validate input", () => {
    const failed = { checkApplication: { Error: "KubeApiError", Cause: "x" } };
    expect(failureInput(failure({ failed, request, plan }))).toEqual({
      failed,
      request,
      plan,
      executionName: "drill-3",
    });
  });

  it("when Validate input failed, the state is the raw input: nothing in it is taken for a request", () => {
    const failed = { validate: { Error: "InvalidInput", Cause: "restoreId: required" } };
    expect(failureInput(failure({ failed, request: { restoreId: 7 }, plan: "x" }))).toEqual({
      failed,
      executionName: "drill-3",
    });
  });

  it("a state that is not an object: only the execution is known", () => {
    expect(failureInput({ ...failure("boom"), executionArn: "arn:x" })).toEqual({
      executionName: "drill-3",
      executionArn: "arn:x",
    });
  });
});

describe("createdWithin", () => {
  const rds = () => ({ send: async () => ({}) }) as never;

  it("a look-up that fails is reported as unknown, never thrown", async () => {
    const kube = async (): Promise<KubeOps> => {
      throw new Error("connect ECONNREFUSED");
    };
    expect(await createdWithin({ request, plan, executionName: "drill-3" }, { rds, kube })).toEqual([
      "unknown whether Velero Restore gitpod-dr-restore-drill-3 exists: connect ECONNREFUSED",
    ]);
  });

  it("a look-up that does not answer within its bound is reported as unknown", async () => {
    const kube = () => new Promise<KubeOps>(() => undefined);
    expect(await createdWithin({ request, plan, executionName: "drill-3" }, { rds, kube }, 20)).toEqual([
      "unknown: the look-up of what this restore created did not answer within 0.02 s",
    ]);
  });
});

describe("notifyRestore", () => {
  it("publishes a failure once and gives the failed state's error and cause for the Fail state", async () => {
    const published: Notification[] = [];
    const result = await notifyRestore(
      failure({ failed: { validate: { Error: "InvalidInput", Cause: "restoreId: required" } } }),
      { stage: "prod", region: "eu-west-1", now: new Date("2026-11-26T03:00:00Z") },
      {
        rds: () => {
          throw new Error("not asked: nothing was created before Validate input");
        },
        kube: async () => {
          throw new Error("not asked");
        },
        publish: async (n) => {
          published.push(n);
          return "m-1";
        },
      },
    );
    expect(result).toEqual({
      error: "InvalidInput",
      cause: "[notified] Validate input: restoreId: required",
      messageId: "m-1",
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.message).toContain("Nothing had been created by this restore.");
  });
});
