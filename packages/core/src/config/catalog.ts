import * as z from "zod";
import { TIERS, type Tier } from "../catalog/entries.ts";
import type { RecoveryScope } from "../catalog/recovery-point.ts";
import { longestScheduleGapMs } from "../schedule.ts";
import { awsRegion } from "./patterns.ts";

/**
 * The recovery-point catalog's part of the configuration: where the table is (`catalog` in each job's
 * run-time configuration; absent: the job records nothing) and the RPO targets per tier (`rpo` in the
 * stage configuration).
 */

/** The catalog table's name: deterministic, so the primary region's jobs know it without a cross-region reference. */
export function catalogTableName(stage: string): string {
  return `gitpod-dr-${stage}-catalog`;
}

export const recoveryScopeSchema = z.strictObject({
  buckets: z.array(z.string().min(1)),
  images: z.boolean(),
  application: z.boolean(),
  applicationPeriodMs: z.number().positive().optional(),
});

export const catalogConfigSchema = z.strictObject({
  tableName: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name"),
  /** The DR region, where the table lives. */
  region: awsRegion,
  /** The stage's tiers (the recovery-point rule's scope: linked retention, the restore's `{}`). */
  scope: recoveryScopeSchema,
});
export type CatalogConfig = z.output<typeof catalogConfigSchema>;

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;

/** A duration such as `26h`, `90m`, `1d2h`, in milliseconds. */
export const durationText = z.string().transform((text, ctx) => {
  const m = DURATION.exec(text);
  const [d, h, min] = [m?.[1], m?.[2], m?.[3]].map((v) => Number(v ?? 0));
  const total = ((d ?? 0) * 24 * 60 + (h ?? 0) * 60 + (min ?? 0)) * 60_000;
  if (!m || text === "" || total === 0) {
    ctx.addIssue({ code: "custom", message: 'must be a duration such as "26h", "90m" or "1d2h", above 0' });
    return z.NEVER;
  }
  return total;
});

/** The stage configuration's `rpo`: a target per tier; a tier left out gets its default. */
export const rpoSchema = z.strictObject({
  database: durationText.optional(),
  objectStorage: durationText.optional(),
  images: durationText.optional(),
  application: durationText.optional(),
});

/** What a default target adds to a tier's longest gap between runs: the run and its copy. */
export const RPO_ALLOWANCE_MS = 2 * 3_600_000;

/** What rpoTargets reads of the stage configuration. */
export interface RpoSources {
  readonly schedules: { readonly rdsSnapshot: string };
  readonly storage?: { readonly schedule: string; readonly buckets: readonly string[] } | undefined;
  readonly images?: { readonly schedule: string } | undefined;
  readonly application?: { readonly schedule: string } | undefined;
  readonly rpo?: z.output<typeof rpoSchema> | undefined;
}

/** The schedule of each configured tier. */
function tierSchedules(config: RpoSources): Partial<Record<Tier, string>> {
  return {
    database: config.schedules.rdsSnapshot,
    ...(config.storage ? { objectStorage: config.storage.schedule } : {}),
    ...(config.images ? { images: config.images.schedule } : {}),
    ...(config.application ? { application: config.application.schedule } : {}),
  };
}

/**
 * The oldest a tier's newest copy gets on schedule: its schedule's longest gap between runs — twice that
 * for the tiers whose copy is finished by the NEXT run, because it completes after the run that started
 * it and waiting belongs to no Lambda: the database (a snapshot is copied to the DR region at the run
 * after it became available; the recovery point counts the DR copy) and the application (the job records
 * a Velero backup at its next run). Found by `gitpod-dr rehearse`: a daily snapshot's DR copy is 24–48 h
 * old, so a 26h target alarmed every morning with nothing broken.
 */
export function deliverableAgeMs(tier: Tier, schedule: string): number {
  return longestScheduleGapMs(schedule) * (FINISHED_BY_THE_NEXT_RUN.has(tier) ? 2 : 1);
}

const FINISHED_BY_THE_NEXT_RUN: ReadonlySet<Tier> = new Set<Tier>(["database", "application"]);

/** The RPO target of each configured tier in milliseconds: the configured one, else what its schedule delivers plus the allowance. */
export function rpoTargets(config: RpoSources): Partial<Record<Tier, number>> {
  const schedules = tierSchedules(config);
  return Object.fromEntries(
    TIERS.flatMap((tier) => {
      const schedule = schedules[tier];
      if (!schedule) return [];
      return [[tier, config.rpo?.[tier] ?? deliverableAgeMs(tier, schedule) + RPO_ALLOWANCE_MS]];
    }),
  );
}

const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 100) / 100}h`;

/** Problems of the configured targets, as `[path, message]`: shorter than the schedule can deliver, or for a tier not configured. */
export function rpoProblems(config: RpoSources): [string[], string][] {
  const schedules = tierSchedules(config);
  const problems: [string[], string][] = [];
  for (const tier of TIERS) {
    const target = config.rpo?.[tier];
    if (target === undefined) continue;
    const schedule = schedules[tier];
    if (!schedule) {
      problems.push([["rpo", tier], `the ${tier} tier is not configured: leave its target out`]);
      continue;
    }
    const deliverable = deliverableAgeMs(tier, schedule);
    if (target <= deliverable) {
      problems.push([
        ["rpo", tier],
        `${hours(target)} is shorter than its schedule ${schedule} can deliver (its newest copy gets up to ${hours(deliverable)} old): use more than ${hours(deliverable)}, e.g. ${hours(deliverable + RPO_ALLOWANCE_MS)}`,
      ]);
    }
  }
  return problems;
}

/** Which tiers a stage has, for the recovery-point rule. */
export function recoveryScope(config: RpoSources): RecoveryScope {
  return {
    buckets: config.storage?.buckets ?? [],
    images: Boolean(config.images),
    application: Boolean(config.application),
    ...(config.application ? { applicationPeriodMs: longestScheduleGapMs(config.application.schedule) } : {}),
  };
}

/** Where a stage's catalog is, and its tiers: what the stacks pass to each job. */
export function catalogConfig(
  stage: string,
  config: RpoSources & { readonly regions: { readonly dr: string } },
): CatalogConfig {
  const scope = recoveryScope(config);
  return {
    tableName: catalogTableName(stage),
    region: config.regions.dr,
    scope: { ...scope, buckets: [...scope.buckets] },
  };
}
