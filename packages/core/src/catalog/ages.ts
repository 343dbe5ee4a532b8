import type { ObjectStorageEntry, Tier } from "./entries.ts";
import { entryTime } from "./entries.ts";
import type { CatalogView, RecoveryScope } from "./recovery-point.ts";

/**
 * Each tier's age against its RPO target: pure, from the catalog's entries and a clock. What the
 * watchdog publishes and `gitpod-dr status` prints.
 */

export interface TierAge {
  readonly tier: Tier;
  /** Seconds since the tier's newest good copy; undefined when it has none (a breach). */
  readonly ageSeconds?: number;
  readonly targetSeconds: number;
  readonly status: "OK" | "BREACH";
  /** The newest good copy (`snapshot gitpod-dr-…`), or why there is none. */
  readonly newest: string;
  /** Its time (recovery time, watermark, sync or backup start). */
  readonly newestAt?: string;
  /** Object storage: each bucket's age (undefined: no watermark). */
  readonly buckets?: readonly { readonly bucket: string; readonly ageSeconds?: number }[];
}

const secondsSince = (iso: string, now: Date) =>
  Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));

function tierAge(
  tier: Tier,
  targetSeconds: number,
  newest: { text: string; at?: string } | { missing: string },
  now: Date,
  buckets?: TierAge["buckets"],
): TierAge {
  const bucketsPart = buckets ? { buckets } : {};
  if ("missing" in newest || !newest.at) {
    return {
      tier,
      targetSeconds,
      status: "BREACH",
      newest: "missing" in newest ? newest.missing : newest.text,
      ...bucketsPart,
    };
  }
  const ageSeconds = secondsSince(newest.at, now);
  return {
    tier,
    ageSeconds,
    targetSeconds,
    status: ageSeconds > targetSeconds ? "BREACH" : "OK",
    newest: newest.text,
    newestAt: newest.at,
    ...bucketsPart,
  };
}

const latest = <E>(entries: readonly E[], time: (e: E) => string): E | undefined =>
  [...entries].sort((a, b) => Date.parse(time(b)) - Date.parse(time(a)))[0];

/**
 * The age of every tier that has a target. A tier's age is its newest good copy's: the newest DR copy
 * that is available (by recovery time), the oldest of the buckets' newest watermarks, the newest
 * complete image sync's start, the newest completed Velero backup's start.
 */
export function tierAges(
  view: CatalogView,
  scope: RecoveryScope,
  targetsSeconds: Partial<Record<Tier, number>>,
  now: Date,
): TierAge[] {
  const ages: TierAge[] = [];
  const target = (tier: Tier) => targetsSeconds[tier];
  const db = target("database");
  if (db !== undefined) {
    const e = latest(
      view.database.filter((d) => d.drCopyStatus === "available"),
      (d) => d.recoveryTime,
    );
    ages.push(
      tierAge(
        "database",
        db,
        e
          ? { text: `snapshot ${e.snapshotId}`, at: e.recoveryTime }
          : { missing: "no available DR copy recorded" },
        now,
      ),
    );
  }
  const os = target("objectStorage");
  if (os !== undefined) {
    const perBucket = [...scope.buckets].sort().map((bucket) => {
      const e = latest(
        view.objectStorage.filter((w) => w.bucket === bucket),
        (w) => w.watermark,
      );
      return { bucket, entry: e };
    });
    const buckets = perBucket.map((b) =>
      b.entry ? { bucket: b.bucket, ageSeconds: secondsSince(b.entry.watermark, now) } : { bucket: b.bucket },
    );
    const without = perBucket.filter((b) => !b.entry).map((b) => b.bucket);
    const oldest = perBucket
      .flatMap((b) => (b.entry ? [b.entry] : []))
      .reduce<ObjectStorageEntry | undefined>(
        (a, w) => (a && Date.parse(a.watermark) <= Date.parse(w.watermark) ? a : w),
        undefined,
      );
    ages.push(
      tierAge(
        "objectStorage",
        os,
        scope.buckets.length === 0
          ? { missing: "no bucket named in storage.buckets: the prefix-discovered buckets have no watermark" }
          : without.length > 0
            ? { missing: `no replication watermark for ${without.join(", ")}` }
            : {
                text: `bucket ${oldest?.bucket} replicated up to ${oldest?.watermark}`,
                ...(oldest ? { at: oldest.watermark } : {}),
              },
        now,
        buckets,
      ),
    );
  }
  const im = target("images");
  if (im !== undefined) {
    const e = latest(view.images, (i) => i.startedAt);
    ages.push(
      tierAge(
        "images",
        im,
        e
          ? { text: `image sync started ${e.startedAt}`, at: entryTime(e) }
          : { missing: "no complete image sync recorded" },
        now,
      ),
    );
  }
  const app = target("application");
  if (app !== undefined) {
    const e = latest(view.application, (a) => a.startedAt);
    ages.push(
      tierAge(
        "application",
        app,
        e
          ? { text: `Velero backup ${e.backupName}`, at: entryTime(e) }
          : { missing: "no completed Velero backup recorded" },
        now,
      ),
    );
  }
  return ages;
}
