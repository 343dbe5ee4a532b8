/**
 * The recovery-point rule, by property (fast-check): never a snapshot newer than a watermark or the
 * image sync or the Velero backup; never a point lacking a tier the stage has; monotone as copies are
 * added; the newest complete one chosen.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CatalogEntry } from "../../../packages/core/src/catalog/entries.ts";
import {
  type CatalogView,
  type RecoveryScope,
  recoveryPoint,
} from "../../../packages/core/src/catalog/recovery-point.ts";
import {
  applicationEntry,
  bucketEntry,
  databaseEntry,
  imagesEntry,
} from "../../../packages/sim/src/catalog/entries.ts";

const BASE = Date.parse("2026-11-20T00:00:00Z");
const HOUR = 3_600_000;
const BUCKETS = ["backups", "blobs", "logs"];
const at = (hours: number) => new Date(BASE + hours * HOUR);
const hour = fc.integer({ min: 0, max: 240 });

const arbEntry: fc.Arbitrary<CatalogEntry> = fc.oneof(
  fc
    .tuple(hour, fc.constantFrom("available" as const, "copying" as const))
    .map(([h, drCopyStatus]) => ({ ...databaseEntry(at(h)), drCopyStatus })),
  fc.tuple(fc.constantFrom(...BUCKETS), hour).map(([b, h]) => bucketEntry(b, at(h))),
  hour.map((h) => imagesEntry(at(h))),
  hour.map((h) => applicationEntry(at(h))),
);

const viewOf = (entries: readonly CatalogEntry[]): CatalogView => ({
  database: entries.filter((e) => e.tier === "database"),
  objectStorage: entries.filter((e) => e.tier === "objectStorage"),
  images: entries.filter((e) => e.tier === "images"),
  application: entries.filter((e) => e.tier === "application"),
});

const arbScope: fc.Arbitrary<RecoveryScope> = fc.record({
  buckets: fc.subarray(BUCKETS),
  images: fc.boolean(),
  application: fc.boolean(),
  applicationPeriodMs: fc.constant(24 * HOUR),
});

/** An independent statement of the rule: the newest snapshot under every other tier's newest time. */
function oracle(view: CatalogView, scope: RecoveryScope): number | undefined {
  const newest = (times: number[]) => (times.length ? Math.max(...times) : undefined);
  const limits: (number | undefined)[] = [
    ...scope.buckets.map((b) =>
      newest(view.objectStorage.filter((e) => e.bucket === b).map((e) => Date.parse(e.watermark))),
    ),
    ...(scope.images ? [newest(view.images.map((e) => Date.parse(e.startedAt)))] : []),
    ...(scope.application ? [newest(view.application.map((e) => Date.parse(e.startedAt)))] : []),
  ];
  if (limits.some((l) => l === undefined)) return undefined;
  const bound = Math.min(Infinity, ...(limits as number[]));
  return newest(
    view.database
      .filter((e) => e.drCopyStatus === "available")
      .map((e) => Date.parse(e.recoveryTime))
      .filter((t) => t <= bound),
  );
}

const entries = fc.array(arbEntry, { maxLength: 30 });

describe("recovery-point rule (properties)", () => {
  it("never takes a snapshot newer than any watermark, the image sync or the Velero backup it names", () => {
    fc.assert(
      fc.property(entries, arbScope, (list, scope) => {
        const { point } = recoveryPoint(viewOf(list), scope);
        if (!point) return;
        const t = Date.parse(point.recoveryTime);
        for (const b of point.buckets) expect(t).toBeLessThanOrEqual(Date.parse(b.watermark));
        if (point.images) expect(t).toBeLessThanOrEqual(Date.parse(point.images.startedAt));
        if (point.application) expect(t).toBeLessThanOrEqual(Date.parse(point.application.startedAt));
        // ...and each of those is the newest of its bucket (no newer watermark is ignored)
        for (const b of point.buckets) {
          for (const e of list) {
            if (e.tier === "objectStorage" && e.bucket === b.bucket) {
              expect(Date.parse(e.watermark)).toBeLessThanOrEqual(Date.parse(b.watermark));
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never lacks a tier it claims: every bucket, images and application of the scope, from the catalog", () => {
    fc.assert(
      fc.property(entries, arbScope, (list, scope) => {
        const result = recoveryPoint(viewOf(list), scope);
        if (!result.point) {
          expect(result.missing.length).toBeGreaterThan(0);
          return;
        }
        const { point } = result;
        expect(point.database.drCopyStatus).toBe("available");
        expect(point.buckets.map((b) => b.bucket)).toEqual([...scope.buckets].sort());
        expect(point.images !== undefined).toBe(scope.images);
        expect(point.application !== undefined).toBe(scope.application);
        for (const e of [point.database, ...point.buckets, point.images, point.application]) {
          if (e) expect(list).toContain(e);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("is monotone: adding any copy never makes the point older or takes it away", () => {
    fc.assert(
      fc.property(entries, arbEntry, arbScope, (list, added, scope) => {
        const before = recoveryPoint(viewOf(list), scope).point;
        const after = recoveryPoint(viewOf([...list, added]), scope).point;
        if (!before) return;
        expect(after).toBeDefined();
        expect(Date.parse(after?.recoveryTime ?? "")).toBeGreaterThanOrEqual(Date.parse(before.recoveryTime));
      }),
      { numRuns: 500 },
    );
  });

  it("chooses the newest complete point (agrees with an independent statement of the rule), in any input order", () => {
    fc.assert(
      fc.property(entries, arbScope, (list, scope) => {
        const expected = oracle(viewOf(list), scope);
        const { point } = recoveryPoint(viewOf(list), scope);
        expect(point ? Date.parse(point.recoveryTime) : undefined).toBe(expected);
        const reversed = recoveryPoint(viewOf([...list].reverse()), scope).point;
        expect(reversed).toEqual(point);
      }),
      { numRuns: 500 },
    );
  });
});

describe("recovery-point rule (examples)", () => {
  const scope: RecoveryScope = {
    buckets: ["backups"],
    images: true,
    application: true,
    applicationPeriodMs: 24 * HOUR,
  };

  it("takes yesterday's snapshot when today's is newer than the bucket's watermark", () => {
    const result = recoveryPoint(
      viewOf([
        databaseEntry("2026-11-25T03:00:00Z"),
        databaseEntry("2026-11-26T03:00:00Z"),
        bucketEntry("backups", "2026-11-26T02:30:00Z"),
        imagesEntry("2026-11-26T06:00:00Z"),
        applicationEntry("2026-11-26T04:00:00Z"),
      ]),
      scope,
    );
    expect(result.point?.database.snapshotId).toBe(databaseEntry("2026-11-25T03:00:00Z").snapshotId);
    expect(result.point?.applicationGapFlagged).toBe(true); // 25 h between snapshot and backup
  });

  it("says what is missing when a tier has no copy", () => {
    const result = recoveryPoint(viewOf([databaseEntry("2026-11-26T03:00:00Z")]), scope);
    expect(result.point).toBeUndefined();
    expect(result.missing).toEqual([
      "objectStorage: bucket backups has no replication watermark",
      "images: no complete image sync",
      "application: no completed Velero backup",
    ]);
  });
});
