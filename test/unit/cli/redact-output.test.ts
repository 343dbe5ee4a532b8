/**
 * The CLI redacts everything it prints; redaction cuts its input at REDACT_MAX_INPUT. A long output (a
 * `rehearse --json` report with many messages) must still come out whole, and redacted everywhere.
 */
import { describe, expect, it } from "vitest";
import { redactingIo, redactOutput } from "../../../packages/cli/src/main.ts";
import { REDACT_MAX_INPUT } from "../../../packages/core/src/notify/redact.ts";

const PASSWORD = "s3cret-Pa55word-for-the-test";
const PEM = [
  "-----BEGIN RSA PRIVATE KEY-----",
  ...Array.from({ length: 30 }, (_, i) => `MIIEowIBAAKCAQEA${String(i).padStart(4, "0")}${"A".repeat(44)}`),
  "-----END RSA PRIVATE KEY-----",
].join("\n");

/** A JSON document of ~3× the redaction bound, with the password and a private key near the end. */
function bigReport(): string {
  const messages = Array.from({ length: 400 }, (_, i) => ({
    subject: `message ${i}`,
    body: `line of a long failure message ${i}\n`.repeat(60),
  }));
  return JSON.stringify({ messages, tail: `password=${PASSWORD}`, key: PEM }, null, 2);
}

describe("the CLI's output redaction", () => {
  it("prints a report longer than the redaction bound whole: it parses, nothing is cut", () => {
    const text = bigReport();
    expect(text.length).toBeGreaterThan(3 * REDACT_MAX_INPUT);
    const printed: string[] = [];
    redactingIo({ out: (t) => printed.push(t), err: () => {} }, [PASSWORD]).out(text);
    const doc = JSON.parse(printed.join(""));
    expect(doc.messages).toHaveLength(400);
    expect(doc.messages[399].body).toBe(`line of a long failure message 399\n`.repeat(60));
    expect(printed.join("")).not.toContain("[cut:");
  });

  it("still redacts a known secret and a private key at the end of a long output", () => {
    const text = bigReport();
    const out = redactOutput(text, [PASSWORD]);
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain("MIIEowIBAAKCAQEA0000");
    expect(out).toContain("[REDACTED]");
  });

  it("never splits a PEM block between two pieces, wherever the piece boundary falls", () => {
    for (const pad of [
      REDACT_MAX_INPUT / 2 - 100,
      REDACT_MAX_INPUT / 2 - 1000,
      REDACT_MAX_INPUT / 2 - 2000,
    ]) {
      const text = `${"x".repeat(pad)}\n${PEM}\n${"y\n".repeat(REDACT_MAX_INPUT / 2)}`;
      const out = redactOutput(text, []);
      expect(out).not.toMatch(/MIIEowIBAAKCAQEA\d{4}/);
      expect(out.length).toBeLessThan(text.length);
    }
  });

  it("never cuts a line in two: a secret on a long line is redacted wherever the line falls", () => {
    for (const at of [REDACT_MAX_INPUT / 2 - 10, REDACT_MAX_INPUT / 2 - 3, REDACT_MAX_INPUT - 20]) {
      const text = `${"a".repeat(at)}${PASSWORD}${"b".repeat(REDACT_MAX_INPUT / 2)}\n${"c\n".repeat(REDACT_MAX_INPUT)}`;
      const out = redactOutput(text, [PASSWORD]);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(PASSWORD.slice(0, 12));
      expect(out).not.toContain(PASSWORD.slice(-12));
    }
  });

  it("leaves a short output to one redaction, as before", () => {
    expect(redactOutput(`token ${PASSWORD}`, [PASSWORD])).toBe("token [REDACTED]");
  });
});
