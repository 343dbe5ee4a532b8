import { isSecretKey, redact } from "./redact.ts";

/**
 * The secret values this process has read (registry passwords and tokens, the EKS token, the kotsadm
 * auth string, database passwords), so that every place that turns an error into text — the failure
 * notification, the task's error that Step Functions keeps, the CLI's output — removes them wherever
 * they appear, even in a shape no pattern of {@link redact} recognises (a password quoted back bare by a
 * registry or a driver).
 *
 * Process-wide on purpose: the code that reads a secret is layers away from the code that reports the
 * error quoting it. Bounded: the newest {@link KNOWN_SECRETS_MAX} values (a Lambda process lives for
 * many invocations; an EKS token is minted every 10 minutes). The values are never logged or returned
 * in anything but {@link knownSecrets}.
 */

export const KNOWN_SECRETS_MAX = 64;

const known: string[] = [];

/**
 * Remembers a secret value just read or made; empty and missing values are ignored. An Authorization
 * value (`Kots <ksuid>`, `Bearer <token>`) is remembered with its credential alone too, which is what a
 * server quoting it back often shows.
 */
export function rememberSecret(value: string | undefined | null): void {
  if (typeof value !== "string" || value === "") return;
  const scheme = /^(?:kots|bearer|basic|token)[ \t]+(\S+)$/i.exec(value);
  if (scheme) add(scheme[1] as string);
  add(value);
}

function add(value: string): void {
  const at = known.indexOf(value);
  if (at >= 0) known.splice(at, 1);
  known.push(value);
  if (known.length > KNOWN_SECRETS_MAX) known.splice(0, known.length - KNOWN_SECRETS_MAX);
}

/**
 * Remembers the values of a Kubernetes Secret (or any key/value credential set) whose key names a
 * secret (`password`, `DB_PASS`, `authstring`, `token`, `secret`, …), leaving a host, port or user name
 * readable in messages.
 */
export function rememberSecretValues(data: Readonly<Record<string, string>> | undefined): void {
  for (const [key, value] of Object.entries(data ?? {})) {
    if (isSecretKey(key)) rememberSecret(value);
  }
}

/** The remembered values, newest last (a copy). */
export function knownSecrets(): readonly string[] {
  return [...known];
}

/** Forgets every remembered value (tests; a new process starts empty). */
export function forgetSecrets(): void {
  known.length = 0;
}

/** {@link redact} with every remembered secret, and `extra` ones the caller knows. */
export function redactKnown(text: string, extra: readonly (string | undefined)[] = []): string {
  return redact(text, [...known, ...extra]);
}

/**
 * Redacts an error in place, before it leaves the process (a Lambda runtime logs and returns `message`
 * and `stack`; Step Functions keeps the message as the state's cause): its message and stack, and those
 * of its causes (up to 5 deep), with every remembered secret.
 */
export function redactError(error: unknown): void {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    try {
      current.message = redactKnown(current.message);
      if (current.stack) current.stack = redactKnown(current.stack);
    } catch {
      // A read-only message (a getter): nothing this process can change.
    }
    current = current.cause;
  }
}
