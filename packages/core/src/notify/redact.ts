/**
 * Removes credentials from text that leaves the process (SNS messages, logs of errors, Step Functions
 * causes, the CLI's output). Errors from drivers and HTTP libraries sometimes quote connection strings,
 * headers, presigned URLs or whole configuration files; a DR tool must never forward those to an email
 * list or keep them in an execution history.
 *
 * Two layers:
 * - the secret values the caller knows (registry tokens, the EKS token, the kotsadm auth string, database
 *   passwords), removed wherever they appear, in every encoding this code itself produces for them;
 * - patterns for the shapes a secret takes in text written by others (URL user info, Authorization
 *   values, `password=…`, JWTs, PEM keys, AWS keys, Docker `auth`, kotsadm's `Kots …`).
 *
 * Linear time: every pattern starts only where a run of its characters starts (a look-behind), and its
 * repeated parts cannot overlap what follows them, so no input makes the regex engine backtrack over a
 * run more than once. The input is bounded first ({@link REDACT_MAX_INPUT}).
 */

export const REDACTED = "[REDACTED]";

/** Text longer than this is cut before redaction (SNS's own message limit is 256 KB). */
export const REDACT_MAX_INPUT = 262_144;

/** Known secrets shorter than this are not searched for: they would erase ordinary words. */
const MIN_SECRET_LENGTH = 4;

// Words that make a key name secret-looking (`db_password`, `aws_secret_access_key`, `"auth"`, `apiKey`,
// `tls.key`). "auth" only as a word of its own or as authorization / authstring / auth_token (not
// `WWW-Authenticate`, `auths`, `author`).
// "pass" but not the verb (`PASSED: the restore brings …`, a verdict, is prose, not a password).
const SECRET_KEY =
  /pass(?:word|wd)?(?!(?:ed|es|ing)(?![a-z]))|pwd|secret|token|api[_-]?key|credential|private[_-]?key|session[_-]?key|(?<![a-z])auth(?:orization|[_-]?string|[_-]?token)?(?![a-z])|\.key$/i;
// A key whose only secret-looking word is "credential(s)": a value names the credentials (a token, a
// key id) or holds them (an object, whose own keys are searched); prose after it describes them.
const CREDENTIAL_ONLY = /credential/i;
const ERROR_NAME_SUFFIXES = ["Error", "Exception", "Fault"];

/**
 * Whether a key names a secret: a secret-looking word (password, secret, token, api key, credential,
 * private key, auth…), and not an error's name (`CredentialsProviderError`, `ExpiredTokenException`):
 * the one rule for key/value text here and for the keys of a Secret's data (secrets.ts).
 */
export function isSecretKey(name: string): boolean {
  // The AWS service (IAM actions `secretsmanager:GetSecretValue`, ARNs): a name, not a key.
  if (name.toLowerCase() === "secretsmanager") return false;
  if (ERROR_NAME_SUFFIXES.some((suffix) => name.length > suffix.length && name.endsWith(suffix))) {
    return false;
  }
  return SECRET_KEY.test(name);
}

/** Prose after a credentials key (`credentials: Could not load credentials from any providers`). */
function isCredentialProse(name: string, value: string): boolean {
  if (!CREDENTIAL_ONLY.test(name) || SECRET_KEY.test(name.replace(/credentials?/gi, ""))) return false;
  // Its first words (a bounded look, so a long line of such keys stays linear).
  return value[0] !== '"' && value[0] !== "'" && /\S\s+\S/.test(value.slice(0, 64));
}

// A URL's user info, up to the last "@" before the host: `https://robot:p@ssw0rd@host`, `https://TOKEN@host`.
// "?" and "#" may stand in an unencoded password; "/" ends the authority.
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*(?:@[^\s/@]*)*@(?=[^\s@]|$)/gi;
// Authorization values: `Bearer <token>`, `Basic <value>` (any case, any length), but not a
// WWW-Authenticate challenge's parameters (`Bearer realm="…"`), which carry no secret.
const AUTH_SCHEME =
  /(?<![\w-])(bearer|basic)([ \t]+)(?!(?:realm|service|scope|error)=)[A-Za-z0-9._~+/-]+=*/gi;
// kotsadm's auth string (`Kots <ksuid>`, any case); a value with a digit, so `kots set config` stays.
const KOTS_AUTH = /(?<![\w-])(kots)([ \t]+)(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{8,}/gi;
const EKS_TOKEN = /(?<![\w-])k8s-aws-v1\.[A-Za-z0-9_-]*/gi;
const JWT = /(?<![\w-])eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}/g;
const PRESIGNED = /((?:X-Amz-(?:Signature|Credential|Security-Token))=)[^&\s"'<>]*/gi;
const ACCESS_KEY_ID = /(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])/g;
const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[^-]|-(?!----END))*(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// key = value, key: value, "key": "value". The key is a maximal run (the look-behind and the atomic
// group `(?=(…))\2` keep the engine from retrying shorter keys). Only the key and separator are matched,
// so the value of a harmless key is still searched (`config: password=…`).
const KEY = /(?<![\w.-])(["']?)(?=([\w.-]+))\2\1[ \t]*[:=][ \t]*/g;
// The value after a secret key: quoted (escapes kept, to the line's end if unterminated), or unquoted
// to the end of the line or a separator (UNQUOTED_END), so a password with spaces goes whole.
const QUOTED_VALUE = /"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?/y;
const UNQUOTED_END = /[\n\r,;}&]/g;

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/**
 * The forms a known secret takes in text this code writes: itself, base64 (Kubernetes Secret data,
 * Docker `auth`), base64url, URL-encoded and JSON-escaped.
 */
export function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const base64 = Buffer.from(secret, "utf8").toString("base64");
  const forms = [
    secret,
    base64,
    base64.replace(/=+$/, ""),
    base64url(secret),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ];
  return [...new Set(forms)].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Cuts text to the redaction bound, dropping a trailing piece of a known secret the cut left behind. */
function bound(text: string, forms: readonly string[]): string {
  if (text.length <= REDACT_MAX_INPUT) return text;
  let cut = text.slice(0, REDACT_MAX_INPUT);
  for (const form of forms) {
    for (let k = Math.min(form.length - 1, cut.length); k > 0; k--) {
      if (cut.endsWith(form.slice(0, k))) {
        cut = cut.slice(0, cut.length - k);
        break;
      }
    }
  }
  return `${cut}\n[cut: ${text.length - REDACT_MAX_INPUT} more characters]`;
}

/**
 * Returns the text with every credential it can recognise replaced by `[REDACTED]`.
 * @param text the text to clean; longer than {@link REDACT_MAX_INPUT}, it is cut first
 * @param secrets values known to be secret (tokens, passwords read during the run); each is removed in
 *   every form {@link secretForms} lists
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  const forms = secrets
    .filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH)
    .flatMap(secretForms)
    .sort((a, b) => b.length - a.length);
  let out = bound(String(text), forms);
  for (const form of forms) out = out.split(form).join(REDACTED);
  out = out
    .replace(PEM_PRIVATE_KEY, REDACTED)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(EKS_TOKEN, REDACTED)
    .replace(JWT, REDACTED)
    .replace(PRESIGNED, `$1${REDACTED}`)
    .replace(ACCESS_KEY_ID, REDACTED)
    .replace(AUTH_SCHEME, `$1$2${REDACTED}`)
    .replace(KOTS_AUTH, `$1$2${REDACTED}`);
  return redactKeyValues(out);
}

/** Replaces the value after every secret-looking key (one pass, left to right). */
function redactKeyValues(text: string): string {
  const key = new RegExp(KEY);
  const quotedAt = new RegExp(QUOTED_VALUE);
  const unquotedEnd = new RegExp(UNQUOTED_END);
  // Where the unquoted value running at or after a position ends: the same for every start before it,
  // so a line of skipped keys (`password: {password: {…`, prose) is scanned once, not once per key.
  let segmentEnd = -1;
  const valueAt = (from: number): string => {
    if (text[from] === '"' || text[from] === "'") {
      quotedAt.lastIndex = from;
      return quotedAt.exec(text)?.[0] ?? "";
    }
    if (from > segmentEnd) {
      unquotedEnd.lastIndex = from;
      segmentEnd = unquotedEnd.exec(text)?.index ?? text.length;
    }
    return text.slice(from, segmentEnd);
  };
  const parts: string[] = [];
  let done = 0;
  for (let m = key.exec(text); m; m = key.exec(text)) {
    const name = m[2] ?? "";
    if (!isSecretKey(name)) continue;
    const value = valueAt(key.lastIndex);
    if (isCredentialProse(name, value)) continue;
    // A nested object or list: its own keys are searched in turn.
    if (value === "" || value.startsWith(REDACTED) || value[0] === "{" || value[0] === "[") continue;
    // An ARN's resource type (`arn:aws:secretsmanager:…:secret:gitpod-dr/registry`): colon-joined, no space.
    if (m[0] === `${name}:` && text[m.index - 1] === ":") continue;
    // host:port (`db-secret-1.example.com:3306`): a name with a dot, a bare colon, a port number.
    if (name.includes(".") && m[0].endsWith(":") && /^\d{1,5}(?!\w)/.test(value)) continue;
    const quote = value[0] === '"' || value[0] === "'" ? value[0] : "";
    const closed = quote !== "" && value.length > 1 && value.endsWith(quote);
    parts.push(text.slice(done, key.lastIndex), `${quote}${REDACTED}${closed ? quote : ""}`);
    done = key.lastIndex + value.length;
    key.lastIndex = done;
  }
  parts.push(text.slice(done));
  return parts.join("");
}
