import { beforeEach, describe, expect, it } from "vitest";
import {
  forgetSecrets,
  KNOWN_SECRETS_MAX,
  knownSecrets,
  redactError,
  redactKnown,
  rememberSecret,
  rememberSecretValues,
} from "../../../packages/core/src/notify/secrets.ts";

beforeEach(() => forgetSecrets());

describe("the known secrets of the process", () => {
  it("removes a remembered value, bare and in the encodings this code writes, wherever it appears", () => {
    rememberSecret("Zq7-winter-harbor-22");

    const text = `pw Zq7-winter-harbor-22, b64 ${Buffer.from("Zq7-winter-harbor-22").toString("base64")}`;

    expect(redactKnown(text)).toBe("pw [REDACTED], b64 [REDACTED]");
  });

  it("keeps the newest 64 values, each once", () => {
    for (let i = 0; i < KNOWN_SECRETS_MAX + 6; i++) rememberSecret(`secret-value-${i}`);
    rememberSecret(`secret-value-${KNOWN_SECRETS_MAX + 5}`);

    const known = knownSecrets();
    expect(known).toHaveLength(KNOWN_SECRETS_MAX);
    expect(known[0]).toBe("secret-value-6");
    expect(known.at(-1)).toBe(`secret-value-${KNOWN_SECRETS_MAX + 5}`);
    expect(redactKnown("secret-value-5 is forgotten")).toBe("secret-value-5 is forgotten");
  });

  it("ignores empty and missing values", () => {
    rememberSecret("");
    rememberSecret(undefined);
    rememberSecret(null);
    expect(knownSecrets()).toEqual([]);
  });

  it("remembers an Authorization value's credential alone too", () => {
    rememberSecret("Kots 2Cj1jJ0aQ9xWbQ2vY6n8t7eR5sU");
    expect(redactKnown("session 2Cj1jJ0aQ9xWbQ2vY6n8t7eR5sU expired")).toBe("session [REDACTED] expired");
  });

  it("remembers the values of a Secret under secret-looking keys only: a host or user name stays readable", () => {
    rememberSecretValues({
      host: "db.internal",
      port: "3306",
      username: "gitpod",
      password: "hunter2-but-longer",
      DB_PASS: "another-pass-value",
      "kotsadm-authstring": "Kots abcdefgh12345678",
      apiKey: "k-1234567890",
    });

    expect([...knownSecrets()].sort()).toEqual(
      [
        "Kots abcdefgh12345678",
        "abcdefgh12345678",
        "another-pass-value",
        "hunter2-but-longer",
        "k-1234567890",
      ].sort(),
    );
    expect(redactKnown("gitpod@db.internal:3306")).toBe("gitpod@db.internal:3306");
  });

  it("redacts an error in place: message, stack and causes", () => {
    rememberSecret("Tr0ub4dor-and-3");
    const error = new Error("outer Tr0ub4dor-and-3", {
      cause: new Error("middle Tr0ub4dor-and-3", { cause: new Error("inner Tr0ub4dor-and-3") }),
    });

    redactError(error);

    const chain: Error[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e);
    expect(chain.map((e) => e.message)).toEqual([
      "outer [REDACTED]",
      "middle [REDACTED]",
      "inner [REDACTED]",
    ]);
    for (const e of chain) expect(e.stack).not.toContain("Tr0ub4dor-and-3");
  });

  it("leaves a non-error and an error with a read-only message alone", () => {
    rememberSecret("Tr0ub4dor-and-3");
    expect(() => redactError("Tr0ub4dor-and-3")).not.toThrow();
    const frozen = Object.freeze(new Error("x Tr0ub4dor-and-3"));
    expect(() => redactError(frozen)).not.toThrow();
  });
});
