import { describe, expect, it } from "vitest";
import { needsRepair } from "../../../packages/core/src/s3/repair.ts";
import type { Finding } from "../../../packages/core/src/s3/types.ts";

const BUCKET = "gitpod-workspace-backups";

describe("needsRepair", () => {
  it("repairs a bucket with a backlog in its sample", () => {
    expect(needsRepair([], true)).toBe(true);
  });

  it("repairs a bucket whose canary FAILED to replicate, by the finding's code", () => {
    const failed: Finding = {
      bucket: BUCKET,
      severity: "failure",
      check: "canary",
      code: "replication-failed",
      message: "replication failed (worded any way)",
    };

    expect(needsRepair([failed], false)).toBe(true);
  });

  it("does not repair for a finding that only mentions FAILED in its text", () => {
    const stalled: Finding = {
      bucket: BUCKET,
      severity: "failure",
      check: "canary",
      message: `Bucket ${BUCKET}: canary FAILED to arrive (a reworded stall)`,
    };

    expect(needsRepair([stalled], false)).toBe(false);
  });

  it("does not repair for a FAILED canary that later canaries overtook (a warning)", () => {
    const overtaken: Finding = {
      bucket: BUCKET,
      severity: "warning",
      check: "canary",
      code: "replication-failed",
      message: "overtaken",
    };

    expect(needsRepair([overtaken], false)).toBe(false);
  });
});
