import { describe, expect, it } from "vitest";
import example from "../../../config/example.ts";
import { drillClusterNotes } from "../../../packages/core/src/config/drill.ts";
import { GITPOD_TABLES, parseStageConfig } from "../../../packages/core/src/config.ts";
import { ConfigError } from "../../../packages/core/src/errors.ts";

/** The example stage with its drill section replaced (loosely typed: the mistakes do not type-check). */
const withDrill = (drill: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
  ...structuredClone(example),
  drill,
  ...extra,
});
const base = structuredClone(example.drill) as Record<string, unknown>;

const issues = (raw: unknown): string[] => {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  return [];
};

describe("drill configuration", () => {
  it("parses the example stage's drill with Gitpod's default tables", () => {
    const drill = parseStageConfig(example).drill;
    expect(drill?.target).toBe("dr");
    expect(drill?.checks.database.tables).toEqual(GITPOD_TABLES);
    expect(drill?.checks.database.tables.map((t) => t.table)).toEqual([
      "d_b_user",
      "d_b_workspace",
      "d_b_workspace_instance",
    ]);
    // Not Secrets by default: counting them needs deploy/rbac-drill-secrets.yaml (every Secret readable).
    expect(drill?.checks.application.expectedKinds).toEqual(["Deployment", "StatefulSet", "ConfigMap"]);
    expect(drill?.allowPartialRestore).toBe(false);
  });

  it("notes the opt-in cluster manifest only for a drill that counts Secrets", () => {
    expect(drillClusterNotes(parseStageConfig(example).drill)).toEqual([]);
    expect(drillClusterNotes(undefined)).toEqual([]);
    const counting = parseStageConfig(
      withDrill({ ...base, checks: { application: { expectedKinds: ["Secret", "ConfigMap"] } } }),
    ).drill;
    expect(drillClusterNotes(counting)).toEqual([
      expect.stringContaining("kubectl apply -f deploy/rbac-drill-secrets.yaml"),
    ]);
  });

  it("names each invalid field", () => {
    expect(
      issues(
        withDrill({
          ...base,
          schedule: "every sunday",
          target: "moon",
          deadlineMinutes: 10,
          vpc: { subnetIds: [], securityGroupIds: ["default"] },
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^drill\.schedule: invalid schedule expression "every sunday"/),
      expect.stringMatching(/^drill\.target: /),
      "drill.deadlineMinutes: must be at least 30",
      "drill.vpc.subnetIds: must list at least one subnet",
      "drill.vpc.securityGroupIds.0: must be a security group id (sg-…)",
    ]);
  });

  it("refuses SQL that is not one read-only statement, and expectations that cannot hold", () => {
    const sql = (s: string, expect: Record<string, unknown> = { min: 1 }) => ({ name: "x", sql: s, expect });
    const problems = issues(
      withDrill({
        ...base,
        checks: {
          database: {
            sql: [
              sql("DELETE FROM d_b_user"),
              sql("SELECT 1; DROP TABLE d_b_user"),
              sql("SELECT 1", {}),
              sql("SELECT 1", { min: 3, max: 2 }),
            ],
          },
        },
      }),
    );
    expect(problems).toEqual([
      "drill.checks.database.sql.0.sql: must be one read-only statement (SELECT, WITH or SHOW)",
      "drill.checks.database.sql.1.sql: must be one read-only statement (SELECT, WITH or SHOW)",
      "drill.checks.database.sql.2.expect: must set equals, min or max",
      "drill.checks.database.sql.3.expect: min must not be greater than max",
      'drill.checks.database.sql: names "x" twice: each check\'s name must be unique (the result names it)',
    ]);
  });

  it("cross-checks with the restore section", () => {
    expect(issues(withDrill(base, { restore: undefined }))).toEqual([
      "drill: needs a restore section: the drill restores with the restore's target settings",
    ]);
    const primaryOnly = structuredClone(example.restore) as { targets: Record<string, unknown> };
    delete primaryOnly.targets.dr;
    expect(issues(withDrill(base, { restore: primaryOnly }))).toEqual([
      'drill.target: is "dr" but restore.targets.dr is not configured',
    ]);
    expect(issues(withDrill({ ...base, deadlineMinutes: 100 }))).toEqual([
      "drill.deadlineMinutes: must be at least 135: restore.database.deadlineMinutes (120) + keepMinutes (0) + 15 for the checks and teardown",
    ]);
    expect(issues(withDrill({ ...base, keepMinutes: 240, deadlineMinutes: 240 }))).toContain(
      "drill.keepMinutes: must be shorter than deadlineMinutes (240): teardown runs within the deadline",
    );
  });

  it("refuses a row-count ratio that excludes 1", () => {
    expect(
      issues(withDrill({ ...base, checks: { database: { rowCountRatio: { min: 1.1, max: 2 } } } })),
    ).toEqual(["drill.checks.database.rowCountRatio: must include 1 (min ≤ 1 ≤ max)"]);
  });
});
