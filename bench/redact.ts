/**
 * `npm run bench:redact`: the redaction every outgoing message goes through, on texts of 10 K to 1 M
 * characters in the shapes that made the first version quadratic (long runs of word characters) and in
 * a realistic failure cause (a stack of log lines with credentials), beside the first version (the peer:
 * the patterns this project shipped before, copied below) on the sizes it can finish. Not a test: it
 * prints figures. Target (issue 15): 256 K characters in well under 100 ms.
 */
import { redact } from "../packages/core/src/notify/redact.ts";

// The first version's patterns, verbatim, as the reference figure.
const OLD: [RegExp, string][] = [
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, "$1[REDACTED]@"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 [REDACTED]"],
  [/\bKots\s+[A-Za-z0-9]{8,}/g, "Kots [REDACTED]"],
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, "[REDACTED]"],
  [/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, "$1[REDACTED]"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, "[REDACTED]"],
  [
    /(["']?\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|credentials?|private[_-]?key)\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;}&]+)/gi,
    "$1[REDACTED]",
  ],
];
const oldRedact = (text: string) => OLD.reduce((out, [p, r]) => out.replace(p, r), text);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function time(fn: () => unknown, runs = RUNS): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

function realistic(n: number): string {
  const lines = [
    "Error: connect ECONNREFUSED 10.0.3.7:3306 at TCPConnectWrapper.afterConnect [as oncomplete]",
    "  request: POST https://robot:p@ssw0rd@registry.example.com/v2/gitpod/blobs/uploads/",
    '  headers: {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb2JvdCJ9.c2lnbmF0dXJl"}',
    "  config: password=correct horse battery staple; user=gitpod",
    "  at Object.<anonymous> (/var/task/index.mjs:1:23456) retrying in 250 ms",
  ];
  let out = "";
  for (let i = 0; out.length < n; i++) out += `${lines[i % lines.length]}\n`;
  return out.slice(0, n);
}

const sizes = [10_000, 40_000, 262_144, 1_048_576];
console.log("text                      chars    ours (median)  first version  ratio");
for (const [label, make] of [
  ["word run (aaaa…)", (n: number) => "a".repeat(n)],
  ["log lines with secrets", realistic],
] as const) {
  for (const n of sizes) {
    const text = make(n);
    const ours = time(() => redact(text));
    // The first version is quadratic on word runs: 250 K took 38 s. Measure it where it finishes.
    const peerAffordable = label.startsWith("log") || n <= 40_000;
    const peer = peerAffordable ? time(() => oldRedact(text), label.startsWith("log") ? RUNS : 1) : undefined;
    const ratio = peer === undefined ? "     -" : (ours / peer).toFixed(3).padStart(6);
    console.log(
      `${label.padEnd(24)} ${String(n).padStart(8)}  ${ours.toFixed(1).padStart(10)} ms  ${
        peer === undefined ? "   (not run)" : `${peer.toFixed(1).padStart(9)} ms`
      }  ${ratio}`,
    );
  }
}
// Inputs shaped to make a backtracking pattern retry every position: each 256 K characters of one unit.
const units = [
  "a-",
  "a:",
  "a=",
  "https://",
  "a@",
  "password=",
  "eyJa.",
  "-----BEGIN PRIVATE KEY-----",
  '"',
  "Bearer ",
  // Keys whose value is skipped (a nested object, prose after "credentials"): one scan of the line.
  "password: {",
  "credentials: a b ",
];
const worst = units
  .map((unit) => {
    const text = unit.repeat(Math.ceil(262_144 / unit.length)).slice(0, 262_144);
    return { unit, ms: time(() => redact(text)) };
  })
  .sort((a, b) => b.ms - a.ms)[0] as { unit: string; ms: number };
console.log(
  `slowest adversarial 256 K input (${units.length} shapes): ${JSON.stringify(worst.unit)} repeated, ${worst.ms.toFixed(1)} ms`,
);
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
