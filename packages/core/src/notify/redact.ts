/**
 * Removes credentials from text that leaves the process (SNS messages, logs of errors). Errors from
 * drivers and HTTP libraries sometimes quote connection strings, headers or presigned URLs; a DR tool
 * must never forward those to an email list.
 */

const REDACTED = "[REDACTED]";

const PATTERNS: [RegExp, string][] = [
  // scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  // Authorization: Bearer …, Basic …
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  // kotsadm auth strings (the kotsadm-authstring Secret's value)
  [/\bKots\s+[A-Za-z0-9]{8,}/g, `Kots ${REDACTED}`],
  // EKS tokens
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, REDACTED],
  // Presigned URL parts
  [/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, `$1${REDACTED}`],
  // AWS access key ids
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  // key=value, key: value, "key": "value" for secret-looking keys
  [
    /(["']?\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|credentials?|private[_-]?key)\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;}&]+)/gi,
    `$1${REDACTED}`,
  ],
];

/**
 * @param text the text to clean
 * @param secrets exact values known to be secret (e.g. read from Secrets Manager); each is removed too
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
