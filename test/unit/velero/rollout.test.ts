import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Deployment } from "../../../packages/core/src/velero/kube.ts";
import { rolloutState } from "../../../packages/core/src/velero/restore.ts";

type Status = NonNullable<Deployment["status"]>;

function deployment(
  replicas: number | undefined,
  generation: number | undefined,
  status?: Status,
): Deployment {
  return {
    metadata: { name: "server", namespace: "gitpod", ...(generation !== undefined ? { generation } : {}) },
    spec: replicas !== undefined ? { replicas } : {},
    ...(status ? { status } : {}),
  };
}

/** The status of a finished rollout of `n` replicas at `generation`. */
const settled = (n: number, generation = 3): Status => ({
  observedGeneration: generation,
  replicas: n,
  updatedReplicas: n,
  readyReplicas: n,
  availableReplicas: n,
});

describe("rolloutState", () => {
  it("is done when the controller saw the latest spec and every replica is updated, ready and available", () => {
    expect(rolloutState(deployment(3, 3, settled(3)))).toEqual({
      name: "server",
      desired: 3,
      updated: 3,
      ready: 3,
      available: 3,
      done: true,
    });
  });

  it("is done when the controller is ahead of the generation read", () => {
    expect(rolloutState(deployment(3, 3, { ...settled(3), observedGeneration: 4 })).done).toBe(true);
  });

  it("is not done while the controller has not seen the latest spec", () => {
    // Right after the restart patch: generation 4, the status still that of generation 3.
    expect(rolloutState(deployment(3, 4, settled(3))).done).toBe(false);
  });

  it.each([
    ["updatedReplicas", { updatedReplicas: 2, replicas: 3 }],
    ["readyReplicas", { readyReplicas: 2 }],
    ["availableReplicas", { availableReplicas: 2 }],
  ])("is not done while %s is below the desired count", (_, change) => {
    const state = rolloutState(deployment(3, 3, { ...settled(3), ...change }));
    expect(state.done).toBe(false);
  });

  it("is not done while old replicas are left (status.replicas > updatedReplicas)", () => {
    // maxSurge: 3 new replicas up and ready, one old one still terminating.
    const state = rolloutState(deployment(3, 3, { ...settled(3), replicas: 4 }));

    expect(state).toMatchObject({ desired: 3, updated: 3, ready: 3, available: 3, done: false });
  });

  it("takes 1 replica when the spec does not say", () => {
    expect(rolloutState(deployment(undefined, 1, settled(1, 1)))).toMatchObject({ desired: 1, done: true });
    expect(rolloutState(deployment(undefined, 1, { observedGeneration: 1 }))).toMatchObject({
      desired: 1,
      done: false,
    });
  });

  it("takes a status without counts as 0 of each", () => {
    expect(rolloutState(deployment(2, 1, { observedGeneration: 1 }))).toEqual({
      name: "server",
      desired: 2,
      updated: 0,
      ready: 0,
      available: 0,
      done: false,
    });
    expect(rolloutState(deployment(2, 1)).done).toBe(false);
  });

  it("is done for a Deployment scaled to 0 once the controller saw it (the API leaves zero counts out)", () => {
    expect(rolloutState(deployment(0, 5, { observedGeneration: 5 }))).toEqual({
      name: "server",
      desired: 0,
      updated: 0,
      ready: 0,
      available: 0,
      done: true,
    });
    expect(rolloutState(deployment(0, 5, { observedGeneration: 4, replicas: 1 })).done).toBe(false);
    // Scaled down, an old pod still terminating.
    expect(rolloutState(deployment(0, 5, { observedGeneration: 5, replicas: 1 })).done).toBe(false);
  });

  it("property: done exactly when observed, nothing old left, and updated, ready, available all reach desired", () => {
    const count = fc.integer({ min: 0, max: 6 });
    fc.assert(
      fc.property(
        count,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 5 }),
        count,
        count,
        count,
        count,
        (
          desired,
          generation,
          observedGeneration,
          replicas,
          updatedReplicas,
          readyReplicas,
          availableReplicas,
        ) => {
          const state = rolloutState(
            deployment(desired, generation, {
              observedGeneration,
              replicas,
              updatedReplicas,
              readyReplicas,
              availableReplicas,
            }),
          );
          const expected =
            observedGeneration >= generation &&
            updatedReplicas >= desired &&
            replicas <= updatedReplicas &&
            readyReplicas >= desired &&
            availableReplicas >= desired;
          expect(state.done).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
