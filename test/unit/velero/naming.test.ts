import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  backupName,
  LABEL_CREATED_BY,
  LABEL_CREATED_BY_VALUE,
  labelValue,
  OURS_SELECTOR,
  restoreName,
  windowStamp,
} from "../../../packages/core/src/velero/naming.ts";

/** An RFC 1123 label, as Kubernetes checks object names of this kind. */
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: empty, or at most 63 of [A-Za-z0-9_.-] with alphanumerics at both ends. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe("windowStamp and backupName", () => {
  it.each([
    ["2026-11-26T03:00:00.000Z", "2026-11-26-0300"],
    ["2026-11-26T03:00:59.999Z", "2026-11-26-0300"],
    ["2026-11-26T03:07:12Z", "2026-11-26-0307"],
    ["2026-11-26T00:00:00Z", "2026-11-26-0000"],
    ["2026-12-31T23:59:59.999Z", "2026-12-31-2359"],
    ["2027-01-01T00:00:00Z", "2027-01-01-0000"],
    ["2028-02-29T12:34:56Z", "2028-02-29-1234"],
    // An offset is converted to UTC: 01:30 in +02:00 is 23:30 the day before.
    ["2026-11-27T01:30:00+02:00", "2026-11-26-2330"],
  ])("names the window of %s %s, to the minute, in UTC", (time, stamp) => {
    expect(windowStamp(new Date(time))).toBe(stamp);
    expect(backupName(new Date(time))).toBe(`gitpod-dr-${stamp}`);
  });

  it("gives a backup name that is a valid object name, and the window a valid label value", () => {
    const time = new Date("2026-11-26T03:00:00Z");
    expect(backupName(time)).toMatch(RFC1123_LABEL);
    expect(windowStamp(time)).toMatch(LABEL_VALUE);
  });

  it("selects gitpod-dr's objects by its created-by label", () => {
    expect(OURS_SELECTOR).toBe(`${LABEL_CREATED_BY}=${LABEL_CREATED_BY_VALUE}`);
    expect(OURS_SELECTOR).toBe("gitpod-dr/created-by=gitpod-dr");
  });
});

describe("restoreName", () => {
  it.each([
    ["drill-1", "gitpod-dr-restore-drill-1"],
    ["Exec 2026/11/26 #1", "gitpod-dr-restore-exec-2026-11-26-1"],
    ["--Leading and trailing--", "gitpod-dr-restore-leading-and-trailing"],
    ["a__b..c", "gitpod-dr-restore-a-b-c"],
    ["Ünïcödé réstore 🚀 7", "gitpod-dr-restore-n-c-d-r-store-7"],
    ["2b3a1c4e-7f5d-4c1a-9e8b-0d2f6a7b8c9d", "gitpod-dr-restore-2b3a1c4e-7f5d-4c1a-9e8b-0d2f6a7b8c9d"],
  ])("names the restore of id %j %s", (id, name) => {
    expect(restoreName(id)).toBe(name);
    expect(restoreName(id)).toMatch(RFC1123_LABEL);
  });

  it("is deterministic: the same id always gives the same name", () => {
    const id = "Exec 2026/11/26 #1";
    expect(restoreName(id)).toBe(restoreName(id));
    expect(restoreName(`${id}`)).toBe(restoreName(String(id)));
  });

  it("cuts a long id to 63 characters, without a trailing hyphen", () => {
    for (const id of [
      "x".repeat(200),
      // The cut at 63 falls right after a hyphen.
      `${"y".repeat(44)}-${"z".repeat(155)}`,
      `Exec ${"/".repeat(30)} ${"A1 ".repeat(60)}`,
    ]) {
      const name = restoreName(id);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(RFC1123_LABEL);
      expect(name.endsWith("-")).toBe(false);
      expect(name.startsWith("gitpod-dr-restore-")).toBe(true);
      expect(restoreName(id)).toBe(name);
    }
    expect(restoreName("x".repeat(200)).startsWith(`gitpod-dr-restore-${"x".repeat(30)}`)).toBe(true);
  });

  it("gives distinct names to distinct long ids that share their first 45 characters", () => {
    // Step Functions execution names run to 80 characters; "gitpod-dr-restore-" leaves 45 of them. Two
    // drills of the same backup differ only at the end: with the same name, the second would adopt the
    // first's Restore (for backup `latest`, adopt() cannot tell) and report its result as its own.
    const first = "drill-2026-11-26t03-00-00z-from-gitpod-dr-2026-11-26-0300-attempt-1";
    const second = "drill-2026-11-26t03-00-00z-from-gitpod-dr-2026-11-26-0300-attempt-2";

    expect(restoreName(first)).not.toBe(restoreName(second));
    for (const id of [first, second]) {
      expect(restoreName(id)).toMatch(RFC1123_LABEL);
      expect(restoreName(id).length).toBeLessThanOrEqual(63);
    }
  });

  it.each([[""], ["---"], ["  "], ["#!/$%"], ["日本語"], ["🚀🚀"]])(
    "refuses the id %j, which has no letters or digits, with a RangeError",
    (id) => {
      expect(() => restoreName(id)).toThrow(RangeError);
      expect(() => restoreName(id)).toThrow(/no letters or digits/);
    },
  );

  it("property: is a lower-case RFC 1123 label of at most 63 characters for any id with a letter or digit", () => {
    const withAlnum = fc
      .tuple(fc.string({ unit: "grapheme", maxLength: 120 }), fc.constantFrom(..."abz09Q"), fc.string())
      .map(([a, c, b]) => `${a}${c}${b}`);
    fc.assert(
      fc.property(withAlnum, (id) => {
        const name = restoreName(id);
        expect(name).toMatch(RFC1123_LABEL);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name.startsWith("gitpod-dr-restore-")).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("property: the same id gives the same name", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }).filter((s) => /[a-z0-9]/i.test(s)),
        (id) => {
          expect(restoreName(id)).toBe(restoreName(id.slice()));
        },
      ),
    );
  });

  it("property: an id made only of characters outside [A-Za-z0-9] is refused", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 50 }).filter((s) => !/[a-z0-9]/i.test(s.toLowerCase())),
        (id) => {
          expect(() => restoreName(id)).toThrow(RangeError);
        },
      ),
    );
  });
});

describe("labelValue", () => {
  it.each([
    ["drill-1", "drill-1"],
    ["Exec 2026/11/26 #1", "Exec-2026-11-26-1"],
    ["keeps_Under.scores-and.Dots", "keeps_Under.scores-and.Dots"],
    ["--_.trimmed._--", "trimmed"],
    ["#!/$%", ""],
    ["", ""],
  ])("makes %j the label value %j", (text, value) => {
    expect(labelValue(text)).toBe(value);
  });

  it("cuts to 63 characters, and an end that is not alphanumeric after the cut", () => {
    expect(labelValue("a".repeat(200))).toBe("a".repeat(63));
    expect(labelValue(`${"b".repeat(62)}-c`)).toBe("b".repeat(62));
  });

  it("property: is always a valid label value", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        const value = labelValue(text);
        expect(value.length).toBeLessThanOrEqual(63);
        expect(value).toMatch(LABEL_VALUE);
      }),
      { numRuns: 500 },
    );
  });
});
