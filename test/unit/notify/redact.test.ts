import { isSecretKey, REDACT_MAX_INPUT, REDACTED, redact, secretForms } from "@gitpod-dr/core/notify/redact";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

describe("redact: the shapes a secret takes in someone else's text", () => {
  // [text, the secret that must be gone, a part that must stay]
  const cases: [string, string, string][] = [
    ["authorization: bearer tok3n-value-123", "tok3n-value-123", "authorization"],
    ["Authorization: Bearer tok3n-value-123", "tok3n-value-123", "Authorization"],
    ["AUTHORIZATION: BEARER tok3n-value-123", "tok3n-value-123", "AUTHORIZATION"],
    ["upstream said Bearer abc", "abc", "upstream said"],
    [`token ${JWT} rejected`, JWT.slice(0, 40), "rejected"],
    [`the header was ${JWT}`, JWT.split(".")[1] as string, "the header was"],
    [
      "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "wJalrXUtnFEMI",
      "aws_secret_access_key",
    ],
    [
      "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "wJalrXUtnFEMI",
      "AWS_SECRET_ACCESS_KEY",
    ],
    ['{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', "wJalrXUtnFEMI", "SecretAccessKey"],
    ["GET https://robot:p@ssw0rd@registry.example.com/v2/ failed", "ssw0rd", "registry.example.com/v2/"],
    [
      "GET https://ghp_abcdef0123456789@github.com/org/repo failed",
      "ghp_abcdef0123456789",
      "github.com/org/repo",
    ],
    ['{"auths":{"r.example.com":{"auth":"cm9ib3Q6aHVudGVyMg=="}}}', "cm9ib3Q6aHVudGVyMg", "r.example.com"],
    [
      "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7s3cr3t\n-----END RSA PRIVATE KEY-----\nend",
      "MIIEowIBAAKCAQEA7s3cr3t",
      "end",
    ],
    ["-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq (cut short", "MIIEvQIBADANBgkq", "key:"],
    ["Authorization: Basic YTpi", "YTpi", "Authorization"],
    ["password=correct horse battery staple, user=admin", "horse battery", "user=admin"],
    ['{"password": "correct horse battery staple"}', "horse battery", "password"],
    ["Kots 2a1b3c4d5e6f7g8h9i0j", "2a1b3c4d5e6f7g8h9i0j", "Kots"],
    ["header kots 2a1b3c4d5e6f7g8h9i0j was refused", "2a1b3c4d5e6f7g8h9i0j", "was refused"],
    ["config: password=hunter22", "hunter22", "config:"],
    ["X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIDEXAMPLE%2F2026", "abcdef0123", "X-Amz-Signature="],
    ["using AKIAIOSFODNN7EXAMPLE now", "AKIAIOSFODNN7EXAMPLE", "now"],
    ["token k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbQ", "aHR0cHM6Ly9zdHMu", "token"],
  ];
  it.each(cases)("%s", (text, secret, kept) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    if (kept !== "key:") expect(out).toContain(kept);
  });

  it("leaves ordinary text as it is", () => {
    for (const text of [
      "Snapshot gitpod-dr-gitpod-db-2026-12-03-0300 is available in eu-central-1",
      'WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="registry"',
      "run kubectl kots set config gitpod --key db_host",
      "Restore phase: PartiallyFailed (3 warnings, 1 error)",
      "New endpoint: gitpod-dr-gitpod-db-r-secret-1.c0ffee.eu-west-1.rds.amazonaws.com:3306",
      "GET https://token.actions.example.com:8443/v2/ answered 503",
    ]) {
      expect(redact(text)).toBe(text);
    }
  });
});

describe("redact: error names and prose about credentials are not key/value secrets", () => {
  it("leaves an error's name and message, and help text about credentials, as they are", () => {
    for (const text of [
      "CredentialsProviderError: Could not load credentials from any providers",
      "ExpiredTokenException: The security token included in the request is expired",
      "InvalidSecretError: the secret's value is not JSON",
      "AwsCredentialsMissing: Could not load credentials from any providers. Set AWS_PROFILE or run aws sso login",
      "credentials: the CLI uses the AWS SDK's default chain (AWS_PROFILE, SSO, environment variables)",
      "  Missing credentials: configure a profile first",
      // IAM actions and ARNs, as `synth --json` prints them.
      '"Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],',
      '"Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitpod-dr/registry-AbCdEf"',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  // [text, the secret that must be gone, a part that must stay]
  const stillSecret: [string, string, string][] = [
    ["password: hunter2", "hunter2", "password"],
    ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI", "aws_secret_access_key"],
    ['{"Secret": "s3cr3t value here"}', "s3cr3t", '"Secret"'],
    ["token: abc.def.ghi", "abc.def.ghi", "token"],
    ["SessionToken: IQoJb3JpZ2luX2VjEXAMPLE", "IQoJb3JpZ2luX2Vj", "SessionToken"],
    ["client_secret: correct horse battery", "horse battery", "client_secret"],
    // A credentials key with one value (not prose), quoted or not, is still a secret.
    ["credentials: robot:AbCdEf0123456789", "AbCdEf0123456789", "credentials"],
    ['{"credentials": "robot pa55 word"}', "pa55", "credentials"],
    ['{"Credentials": {"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}}', "wJalrXUtnFEMI", "Credentials"],
    // An error's name is not a key, but a secret its message quotes is still found.
    ["CredentialsProviderError: config had password=hunter22", "hunter22", "CredentialsProviderError"],
    ["credentials: see the profile, password=hunter22", "hunter22", "see the profile"],
  ];
  it.each(stillSecret)("%s", (text, secret, kept) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
    expect(out).toContain(kept);
  });

  it("is one rule for key names, here and for a Secret's data (secrets.ts)", () => {
    for (const name of [
      "password",
      "DB_PASS",
      "pass",
      "passwd",
      "apiKey",
      "kotsadm-authstring",
      "tls.key",
      "ssh-privatekey",
    ]) {
      expect(isSecretKey(name), name).toBe(true);
    }
    for (const name of [
      "CredentialsProviderError",
      "ExpiredTokenException",
      "host",
      "author",
      "WWW-Authenticate",
      "PASSED",
      "passing",
    ]) {
      expect(isSecretKey(name), name).toBe(false);
    }
  });
});

describe("redact: secrets the caller knows", () => {
  it("removes a known value in every form this code writes it", () => {
    const secret = "Kots 0123456789abcdefXYZ";
    const text = [
      `raw ${secret}`,
      `alone ${secret.slice(5)}`,
      `base64 ${Buffer.from(secret).toString("base64")}`,
      `url ${encodeURIComponent(secret)}`,
    ].join("\n");
    const out = redact(text, [secret, secret.slice(5)]);
    expect(out).not.toContain("0123456789abcdefXYZ");
    expect(out).not.toContain(Buffer.from(secret).toString("base64").slice(0, 20));
    expect(out).not.toContain(encodeURIComponent(secret));
    expect(out.split("\n").map((l) => l.split(" ")[0])).toEqual(["raw", "alone", "base64", "url"]);
  });

  it("lists the forms longest first, and none shorter than four characters", () => {
    const forms = secretForms("p@ss word");
    expect(forms).toContain("p@ss word");
    expect(forms).toContain("p%40ss%20word");
    expect(forms).toContain(Buffer.from("p@ss word").toString("base64"));
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
    expect(secretForms("abc")).toEqual([]);
  });

  it("for random secrets embedded in random text in each shape, the output never contains the secret", () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#%*+/=?^_~-]{11,40}$/);
    const filler = fc.string({ maxLength: 200 }).map((s) => s.replace(/[\r\n]/g, " "));
    const shapes: ((s: string) => string)[] = [
      (s) => `Authorization: Bearer ${s}`,
      (s) => `authorization: basic ${s}`,
      // A "/" in a URL's password is written encoded (else it ends the authority).
      (s) => `https://robot:${s.replaceAll("/", "%2F")}@registry.example.com/v2/`,
      (s) => `password=${s}`,
      (s) => `"password": "${s}"`,
      (s) => `{"auth": "${Buffer.from(`robot:${s}`).toString("base64")}"}`,
      (s) => `db_secret: ${s}`,
      (s) => s, // known to the caller: anywhere, in any form
    ];
    fc.assert(
      fc.property(secret, filler, filler, fc.integer({ min: 0, max: shapes.length - 1 }), (s, a, b, i) => {
        const shape = shapes[i] as (s: string) => string;
        const known = i === shapes.length - 1 ? [s] : [];
        const out = redact(`${a} ${shape(s)}\n${b}`, known);
        expect(out).not.toContain(i === 2 ? s.replaceAll("/", "%2F") : s);
        if (i === 5) expect(out).not.toContain(Buffer.from(`robot:${s}`).toString("base64"));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("redact: bounded input", () => {
  it("cuts text past the bound, and the cut never leaves the start of a known secret behind", () => {
    const secret = "s3cr3t-value-0123456789";
    const text = `${"x".repeat(REDACT_MAX_INPUT - 10)}${secret}${"y".repeat(100)}`;
    const out = redact(text, [secret]);
    expect(out.length).toBeLessThan(REDACT_MAX_INPUT + 100);
    expect(out).toMatch(/\[cut: \d+ more characters\]$/);
    expect(out).not.toContain(secret.slice(0, 10));
  });
});
