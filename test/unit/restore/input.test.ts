import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import { parseRestoreInput } from "../../../packages/core/src/restore/input.ts";

/** A Step Functions execution name as the console generates it. */
const EXECUTION = "b9c3e0a4-6f1d-4c8e-9a57-2f0d3c1e7b42";

const DEFAULTS = {
  restoreId: EXECUTION,
  target: "primary",
  dbSnapshot: "latest",
  veleroBackup: "latest",
  tiers: ["database", "images", "application"],
  dryRun: false,
  allowPartialRestore: false,
};

const RESTORE_ID_RULE = "must be 1-80 letters, digits, - and _, starting with a letter or digit";
const IDENTIFIER_RULE = "must start with a letter and contain only letters, digits and single hyphens";
const TIER_RULE = "must be one of database, images, application";

function invalidInput(input: unknown, executionName = EXECUTION): InvalidInputError {
  try {
    parseRestoreInput(input, executionName);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`parseRestoreInput accepted ${JSON.stringify(input)}`);
}

describe("parseRestoreInput", () => {
  it("{} (the console's default input): every default, the restore id being the execution name", () => {
    expect(parseRestoreInput({}, EXECUTION)).toEqual(DEFAULTS);
  });

  // `null` used to be read as `{}`: a full restore of every tier from an input that asked for nothing.
  // (A list, a string or a number is refused by the schema: see "rejects …, naming the field".)
  it.each([
    ["null", null, "got null"],
    ["no input", undefined, "there was none"],
  ])("rejects %s as the input: it must be a JSON object", (_, input, got) => {
    const error = invalidInput(input);

    expect(error.name).toBe("InvalidInput");
    expect(error.message).toBe(
      `Invalid restore input: the input must be a JSON object (${got}); give {} to restore every configured tier`,
    );
    expect(error.issues).toEqual([`input: must be a JSON object (${got})`]);
  });

  it("takes every field it is given; targetDbIdentifier lower-cased as RDS stores it", () => {
    const input = {
      restoreId: "Drill_2026-11-26",
      target: "dr",
      dbSnapshot: "gitpod-dr-gitpod-2026-11-25-0300",
      veleroBackup: "gitpod-daily-20261125030000",
      tiers: ["images", "database"],
      targetDbIdentifier: "Gitpod-Restored",
      dryRun: true,
      allowPartialRestore: true,
    };

    expect(parseRestoreInput(input, EXECUTION)).toEqual({
      ...input,
      targetDbIdentifier: "gitpod-restored",
    });
  });

  it("accepts restore ids at the limits: one character, 80 characters, _ and - inside", () => {
    expect(parseRestoreInput({ restoreId: "a" }, EXECUTION).restoreId).toBe("a");
    expect(parseRestoreInput({ restoreId: `9${"_-x".repeat(26)}z` }, EXECUTION).restoreId).toHaveLength(80);
  });

  it.each<[string, unknown, string[]]>([
    ["restoreId not a string", { restoreId: 42 }, ["restoreId: must be a string"]],
    ["restoreId with a space", { restoreId: "drill 1" }, [`restoreId: ${RESTORE_ID_RULE}`]],
    ["restoreId starting with -", { restoreId: "-drill" }, [`restoreId: ${RESTORE_ID_RULE}`]],
    ["restoreId empty", { restoreId: "" }, [`restoreId: ${RESTORE_ID_RULE}`]],
    ["restoreId of 81 characters", { restoreId: "a".repeat(81) }, [`restoreId: ${RESTORE_ID_RULE}`]],
    ["restoreId with a slash", { restoreId: "drill/1" }, [`restoreId: ${RESTORE_ID_RULE}`]],
    ['target "secondary"', { target: "secondary" }, ['target: must be "primary" or "dr"']],
    ["target not a string", { target: 1 }, ['target: must be "primary" or "dr"']],
    ["target in capitals", { target: "DR" }, ['target: must be "primary" or "dr"']],
    ["dbSnapshot not a string", { dbSnapshot: 5 }, ["dbSnapshot: must be a string"]],
    ["dbSnapshot empty", { dbSnapshot: "" }, ["dbSnapshot: must not be empty"]],
    ["veleroBackup null", { veleroBackup: null }, ["veleroBackup: must be a string"]],
    ["veleroBackup empty", { veleroBackup: "" }, ["veleroBackup: must not be empty"]],
    ["tiers not a list", { tiers: "database" }, ["tiers: must be a list"]],
    ["tiers empty", { tiers: [] }, ["tiers: must name at least one tier"]],
    ["tiers duplicate", { tiers: ["database", "images", "database"] }, ["tiers: must not name a tier twice"]],
    ["tiers unknown", { tiers: ["database", "velero"] }, [`tiers.1: ${TIER_RULE}`]],
    ["tiers not strings", { tiers: [1] }, [`tiers.0: ${TIER_RULE}`]],
    ["targetDbIdentifier not a string", { targetDbIdentifier: 7 }, ["targetDbIdentifier: must be a string"]],
    [
      "targetDbIdentifier digit first",
      { targetDbIdentifier: "1gitpod" },
      [`targetDbIdentifier: ${IDENTIFIER_RULE}`],
    ],
    [
      "targetDbIdentifier with --",
      { targetDbIdentifier: "gitpod--r" },
      [`targetDbIdentifier: ${IDENTIFIER_RULE}`],
    ],
    [
      "targetDbIdentifier with _",
      { targetDbIdentifier: "gitpod_r" },
      [`targetDbIdentifier: ${IDENTIFIER_RULE}`],
    ],
    [
      "targetDbIdentifier trailing -",
      { targetDbIdentifier: "gitpod-" },
      ["targetDbIdentifier: must not end with a hyphen"],
    ],
    [
      "targetDbIdentifier of 64 characters",
      { targetDbIdentifier: "a".repeat(64) },
      ["targetDbIdentifier: Too big: expected string to have <=63 characters"],
    ],
    ["dryRun a string", { dryRun: "true" }, ["dryRun: must be true or false"]],
    ["dryRun a number", { dryRun: 1 }, ["dryRun: must be true or false"]],
    [
      "allowPartialRestore a string",
      { allowPartialRestore: "yes" },
      ["allowPartialRestore: must be true or false"],
    ],
    ["an unknown field", { dry_run: true }, ['(root): Unrecognized key: "dry_run"']],
    ["a list", [], ["(root): Invalid input: expected object, received array"]],
    ["a string", "restore", ["(root): Invalid input: expected object, received string"]],
    ["a number", 0, ["(root): Invalid input: expected object, received number"]],
    ["a boolean", true, ["(root): Invalid input: expected object, received boolean"]],
    ["a list of an object", [{}], ["(root): Invalid input: expected object, received array"]],
  ])("rejects %s, naming the field", (_, input, issues) => {
    const error = invalidInput(input);

    expect(error.name).toBe("InvalidInput");
    expect(error.retryable).toBe(false);
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe(`Invalid restore input: ${issues.join("; ")}`);
  });

  it("lists every problem when several fields are wrong at once", () => {
    const error = invalidInput({
      restoreId: "drill 1",
      target: "secondary",
      dbSnapshot: "",
      tiers: ["database", "database"],
      targetDbIdentifier: "gitpod--x",
      dryRun: "yes",
      allowPartialRestore: null,
      extra: 1,
    });

    expect(error.issues).toHaveLength(8);
    expect(error.issues.map((issue) => issue.slice(0, issue.indexOf(":"))).sort()).toEqual(
      [
        "(root)",
        "allowPartialRestore",
        "dbSnapshot",
        "dryRun",
        "restoreId",
        "target",
        "targetDbIdentifier",
        "tiers",
      ].sort(),
    );
    expect(error.issues).toContain('(root): Unrecognized key: "extra"');
    expect(error.issues).toContain("tiers: must not name a tier twice");
    for (const issue of error.issues) expect(error.message).toContain(issue);
  });

  it("lists each unknown tier and each unknown field", () => {
    const error = invalidInput({ tiers: ["velero", "s3"], foo: 1, bar: 2 });

    expect(error.issues).toEqual([
      `tiers.0: ${TIER_RULE}`,
      `tiers.1: ${TIER_RULE}`,
      '(root): Unrecognized keys: "foo", "bar"',
    ]);
  });

  it.each([
    ["with spaces", "restore from console"],
    ["with a dot", "restore.2026-11-26"],
    ["starting with _", "_restore"],
    ["of 81 characters", "r".repeat(81)],
  ])("rejects an execution name %s when no restoreId is given, naming restoreId", (_, executionName) => {
    const error = invalidInput({}, executionName);

    expect(error.issues).toEqual([
      `restoreId: the execution name "${executionName}" cannot serve as one (letters, digits, - and _ only); give restoreId`,
    ]);
    expect(error.message).toContain("restoreId");
    // Given a restoreId, the same execution name is fine.
    expect(parseRestoreInput({ restoreId: "drill-1" }, executionName).restoreId).toBe("drill-1");
  });
});
