import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import { parseWindowJobEvent } from "../../../packages/core/src/input.ts";
import { parseVeleroBackupEvent } from "../../../packages/core/src/velero/input.ts";
import { scheduledEventFor } from "../../../packages/sim/src/lambda.ts";

const NOW = new Date("2026-11-26T09:12:34Z");

/** What EventBridge delivers for a schedule rule. */
const scheduledEvent = scheduledEventFor("gitpod-dr-prod-Application-VeleroBackupSchedule", {
  id: "0c1b7d4e-1f3a-4a5b-9c8d-7e6f5a4b3c2d",
  account: "123456789012",
  time: "2026-11-26T02:00:00Z",
  region: "eu-west-1",
});

function invalidInput(event: unknown): InvalidInputError {
  try {
    parseVeleroBackupEvent(event, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error(`parseVeleroBackupEvent accepted ${JSON.stringify(event)}`);
}

describe("parseVeleroBackupEvent", () => {
  it("takes the window from a scheduled event's time, not the clock", () => {
    expect(parseVeleroBackupEvent(scheduledEvent, NOW)).toEqual({
      time: new Date("2026-11-26T02:00:00Z"),
      dryRun: false,
    });
  });

  it("takes the same window from a scheduled event delivered late (a retry)", () => {
    const late = new Date("2026-11-26T02:47:00Z");
    expect(parseVeleroBackupEvent(scheduledEvent, late).time).toEqual(new Date("2026-11-26T02:00:00Z"));
  });

  it.each([
    [
      { dryRun: true, time: "2026-11-25T02:00:00Z" },
      { time: new Date("2026-11-25T02:00:00Z"), dryRun: true },
    ],
    [{ dryRun: false }, { time: NOW, dryRun: false }],
    [{ dryRun: true }, { time: NOW, dryRun: true }],
    [{ time: "2026-11-25T03:00:00+01:00" }, { time: new Date("2026-11-25T02:00:00Z"), dryRun: false }],
    [{}, { time: NOW, dryRun: false }],
    [undefined, { time: NOW, dryRun: false }],
    [null, { time: NOW, dryRun: false }],
  ])("accepts the manual input %j", (event, expected) => {
    expect(parseVeleroBackupEvent(event, NOW)).toEqual(expected);
  });

  it("is the windowed job parser, named for the Velero backup job", () => {
    expect(parseVeleroBackupEvent(scheduledEvent, NOW)).toEqual(
      parseWindowJobEvent(scheduledEvent, "Velero backup job", NOW),
    );
  });

  it("rejects { dry_run: true } instead of running for real, naming the key", () => {
    const error = invalidInput({ dry_run: true });

    expect(error.name).toBe("InvalidInput");
    expect(error.retryable).toBe(false);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toContain('"dry_run"');
    expect(error.message).toMatch(/^Invalid input for the Velero backup job: /);
    expect(error.message).toContain("dry_run");
  });

  it.each([["yesterday"], ["2026-11-26"], ["2026-11-26 02:00:00"], [""], [1764122400000]])(
    "rejects the manual time %j, naming the field",
    (time) => {
      const error = invalidInput({ time });

      expect(error.issues).toEqual(["time: must be an ISO 8601 date-time"]);
      expect(error.message).toBe(
        "Invalid input for the Velero backup job: time: must be an ISO 8601 date-time",
      );
    },
  );

  it("rejects a scheduled event whose time is not a date-time, naming the field", () => {
    const error = invalidInput({ ...scheduledEvent, time: "tomorrow" });

    expect(error.issues).toEqual(["time: must be an ISO 8601 date-time"]);
  });

  it('rejects { dryRun: "yes" }, naming the field', () => {
    expect(invalidInput({ dryRun: "yes" }).issues).toEqual(["dryRun: must be true or false"]);
  });

  it("rejects an EventBridge event that is not a scheduled event", () => {
    const error = invalidInput({ ...scheduledEvent, "detail-type": "EKS Cluster State Change" });

    expect(error.issues.some((issue) => issue.startsWith("detail-type:"))).toBe(true);
  });

  it.each([["a string"], [42], [[]], [true]])("rejects a non-object event %j", (event) => {
    expect(invalidInput(event).issues.length).toBeGreaterThan(0);
  });
});
