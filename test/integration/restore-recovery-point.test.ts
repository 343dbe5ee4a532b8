/**
 * The restore's `{}` with the recovery-point catalog (dynalite) and the fake RDS: the newest complete
 * recovery point's snapshot, named with each tier's age in the plan; explicit names override; without a
 * catalog (or a complete point) the newest copy, as before.
 */
import { describe, expect, it } from "vitest";
import { restoreJobConfigSchema } from "../../packages/core/src/config.ts";
import { planMessage } from "../../packages/core/src/restore/messages.ts";
import type { RestorePlan } from "../../packages/core/src/restore/types.ts";
import { type ValidateEvent, validateRestore } from "../../packages/core/src/restore/validate.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import { bucketEntry, databaseEntry } from "../../packages/sim/src/catalog/entries.ts";
import {
  ACCOUNT,
  ago,
  copyOf,
  DR_REGION,
  ours,
  PRIMARY_REGION,
  rdsWorld,
} from "../../packages/sim/src/rds/fake-rds.ts";

const catalog = useLocalCatalog();
const STARTED = "2026-11-26T03:00:00.000Z"; // TIME of the fake: ago(n) is n days before it

function config(withCatalog: boolean) {
  return restoreJobConfigSchema.parse({
    stage: "test",
    account: ACCOUNT,
    regions: { primary: PRIMARY_REGION, dr: DR_REGION },
    database: { identifier: "gitpod", kind: "instance" },
    ...(withCatalog
      ? {
          catalog: {
            tableName: catalog.tableName,
            region: DR_REGION,
            scope: { buckets: ["backups"], images: false, application: false },
          },
        }
      : {}),
    restore: {
      targets: {
        primary: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-restore",
            securityGroupIds: ["sg-0123456789abcdef0"],
          },
        },
        dr: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-restore-dr",
            securityGroupIds: ["sg-0123456789abcdef0"],
          },
        },
      },
    },
  });
}

/** Two DR copies (2 and 1 days old); the bucket replicated only up to 1.5 days ago. */
async function world() {
  const w = rdsWorld();
  const older = w.primary.add("instance", ours("gitpod", ago(2)));
  const newer = w.primary.add("instance", ours("gitpod", ago(1)));
  for (const s of [older, newer]) w.dr.add("instance", copyOf(w.primary, "instance", s));
  w.dr.subnetGroups.add("gitpod-restore-dr");
  const store = catalog.store();
  for (const s of [older, newer]) await store.put(databaseEntry(s.createdAt, s.identifier));
  await store.put(bucketEntry("backups", ago(1, 12)));
  return {
    older,
    newer,
    store,
    deps: { rds: (region: string) => w.aws.region(region).client, catalog: store },
  };
}

const event = (input: unknown): ValidateEvent => ({
  input,
  executionName: "exec-1",
  executionStartedAt: STARTED,
});

describe("the restore's {} with a catalog", () => {
  it("restores the newest complete recovery point, and the plan names it with each tier's age", async () => {
    const { older, deps } = await world();

    const request = await validateRestore(event({ target: "dr", dryRun: true }), config(true), deps);

    expect(request.database?.snapshot.identifier).toBe(older.identifier);
    expect(request.recoveryPoint).toEqual({
      recoveryTime: ago(2).toISOString(),
      snapshot: older.identifier,
      ages: { database: 2 * 86_400, objectStorage: 1.5 * 86_400 },
      applicationGapFlagged: false,
    });
    const plan = {
      restoreId: "exec-1",
      target: "dr",
      region: DR_REGION,
      tiers: ["database"],
      endpoints: {},
      checked: [],
    };
    const { message } = planMessage(request, plan as unknown as RestorePlan, "test");
    expect(message).toContain(
      `Recovery point: ${ago(2).toISOString()} (the newest complete one in the catalog): snapshot ${older.identifier}.`,
    );
    expect(message).toContain(
      "Age of each tier (what this restore loses): database 48h 00m 00s, objectStorage 36h 00m 00s.",
    );
  });

  it("keeps an explicit dbSnapshot, and names no recovery point it did not use", async () => {
    const { newer, deps } = await world();
    const request = await validateRestore(
      event({ target: "dr", dbSnapshot: newer.identifier }),
      config(true),
      deps,
    );
    expect(request.database?.snapshot.identifier).toBe(newer.identifier);
    expect(request.recoveryPoint).toBeUndefined();
  });

  it("without a catalog restores the newest copy, as before", async () => {
    const { newer, deps } = await world();
    const { catalog: _, ...withoutCatalog } = deps;
    const request = await validateRestore(event({ target: "dr" }), config(false), withoutCatalog);
    expect(request.database?.snapshot.identifier).toBe(newer.identifier);
    expect(request.recoveryPoint).toBeUndefined();
    expect(request.recoveryPointNote).toBeUndefined();
  });

  it("without a complete point takes the newest copy and says why in the plan", async () => {
    const { newer, deps, store } = await world();
    const cfg = config(true);
    const scoped = {
      ...cfg,
      catalog: {
        ...(cfg.catalog as NonNullable<typeof cfg.catalog>),
        scope: { buckets: ["never-checked"], images: false, application: false },
      },
    };
    const request = await validateRestore(event({ target: "dr" }), scoped, { ...deps, catalog: store });
    expect(request.database?.snapshot.identifier).toBe(newer.identifier);
    expect(request.recoveryPointNote).toBe(
      "the catalog has no complete recovery point (objectStorage: bucket never-checked has no replication watermark): each tier's newest copy is used",
    );
  });
});
