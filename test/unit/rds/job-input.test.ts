import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import { parseRdsJobEvent } from "../../../packages/core/src/rds/input.ts";
import { scheduledEventFor } from "../../../packages/sim/src/lambda.ts";

const NOW = new Date("2026-11-26T09:12:34Z");

/** What EventBridge delivers for a schedule rule. */
const scheduledEvent = scheduledEventFor("gitpod-dr-test-RdsSnapshot", {
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  account: "111111111111",
  time: "2026-11-26T03:00:00Z",
  region: "eu-west-1",
});

function invalidInput(event: unknown): InvalidInputError {
  try {
    parseRdsJobEvent(event, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`parseRdsJobEvent accepted ${JSON.stringify(event)}`);
}

describe("parseRdsJobEvent", () => {
  it("takes the time of an EventBridge scheduled event, not the clock", () => {
    expect(parseRdsJobEvent(scheduledEvent, NOW)).toEqual({
      time: new Date("2026-11-26T03:00:00Z"),
      dryRun: false,
    });
  });

  it("rejects a scheduled event whose time is not a date-time, naming the field", () => {
    const error = invalidInput({ ...scheduledEvent, time: "yesterday" });

    expect(error.issues).toEqual(["time: must be an ISO 8601 date-time"]);
  });

  it.each([
    [{}, { time: NOW, dryRun: false }],
    [undefined, { time: NOW, dryRun: false }],
    [{ dryRun: true }, { time: NOW, dryRun: true }],
    [
      { dryRun: false, time: "2026-11-25T03:00:00+01:00" },
      { time: new Date("2026-11-25T02:00:00Z"), dryRun: false },
    ],
  ])("accepts the manual input %j", (event, expected) => {
    expect(parseRdsJobEvent(event, NOW)).toEqual(expected);
  });

  it("rejects { dry_run: true } instead of running for real, naming the key", () => {
    const error = invalidInput({ dry_run: true });

    expect(error.name).toBe("InvalidInput");
    expect(error.retryable).toBe(false);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toContain('"dry_run"');
    expect(error.message).toContain("dry_run");
  });

  it('rejects { dryRun: "yes" }, naming the field', () => {
    const error = invalidInput({ dryRun: "yes" });

    expect(error.issues).toEqual(["dryRun: must be true or false"]);
    expect(error.message).toBe("Invalid input for the RDS snapshot job: dryRun: must be true or false");
  });

  it.each([["a string"], [42], [[]]])("rejects a non-object event %j", (event) => {
    const error = invalidInput(event);

    expect(error.issues.length).toBeGreaterThan(0);
  });
});
