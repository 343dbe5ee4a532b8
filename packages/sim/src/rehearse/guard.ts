/**
 * The simulated account's isolation: while a rehearsal runs, this process reaches no address but the
 * loopback interface, and no AWS credentials of the environment are there to be picked up.
 *
 * - Network: `net.Socket.prototype.connect` (every TCP and TLS client in Node: http, undici's fetch,
 *   mysql2, the Kubernetes client) refuses a destination other than 127.0.0.0/8, ::1 or `localhost`
 *   (Unix sockets are local and allowed), before any name is looked up; `dns.lookup` (callback and
 *   promise) refuses any name but `localhost`, so not even a DNS query leaves. A refused connect fails
 *   the socket with {@link NetworkIsolationError}, as a refused connection would.
 * - Credentials: the variables the AWS SDK's default provider chain reads (keys, profile, shared files,
 *   web identity, container and instance metadata) are taken out of `process.env` for the run and put
 *   back after: a client the simulation forgot to give its fake credentials fails loudly instead of
 *   signing with someone's real keys.
 *
 * Child processes (docker-registry, kubectl, mariadbd) are not covered: the simulation starts them with
 * loopback addresses itself.
 */
import dns from "node:dns";
import net from "node:net";
import { GitpodDrError } from "@gitpod-dr/core/errors";

/** The rehearsal tried to reach an address other than the loopback interface. */
export class NetworkIsolationError extends GitpodDrError {
  override readonly name = "NetworkIsolationError";
  constructor(readonly destination: string) {
    super(
      `The simulated account reaches only 127.0.0.1: a connection to ${destination} was refused (a client without a simulated endpoint?)`,
    );
  }
}

/** Whether a host is this machine's loopback interface. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === "") return true; // Node's default host is localhost
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    h === "localhost" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === "::1" ||
    h === "0:0:0:0:0:0:0:1" ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

interface Destination {
  readonly host?: string;
  readonly port?: number | string;
  readonly path?: string;
}

/** The destination of `socket.connect(...)` in each of its forms (net.connect passes `[options, cb]`). */
export function connectDestination(args: readonly unknown[]): Destination {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (first !== null && typeof first === "object") {
    const o = first as { host?: unknown; port?: unknown; path?: unknown };
    return {
      ...(typeof o.host === "string" ? { host: o.host } : {}),
      ...(typeof o.port === "number" || typeof o.port === "string" ? { port: o.port } : {}),
      ...(typeof o.path === "string" ? { path: o.path } : {}),
    };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return {
    ...(typeof first === "number" || typeof first === "string" ? { port: first } : {}),
    ...(typeof args[1] === "string" ? { host: args[1] } : {}),
  };
}

const describe = (d: Destination) => d.path ?? `${d.host ?? "localhost"}:${d.port ?? "?"}`;

export interface GuardEvent {
  readonly allowed: boolean;
  /** `host:port`, a Unix socket's path, or `dns:name`. */
  readonly destination: string;
}

export interface GuardOptions {
  /** Told of every connect and lookup, allowed or refused (tests record them). */
  readonly onEvent?: (event: GuardEvent) => void;
}

/** The AWS SDK's credential sources in the environment (@aws-sdk/credential-provider-node's chain). */
const CREDENTIAL_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
] as const;

/** Shared files that do not exist, so no profile on this machine is read either. */
const NO_FILE = "/nonexistent/gitpod-dr-rehearsal";

function isolateCredentials(): () => void {
  const saved = new Map(CREDENTIAL_VARIABLES.map((name) => [name, process.env[name]] as const));
  for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = NO_FILE;
  process.env.AWS_CONFIG_FILE = NO_FILE;
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

type Connect = typeof net.Socket.prototype.connect;
type Lookup = typeof dns.lookup;
type PromisesLookup = typeof dns.promises.lookup;

function guardNetwork(onEvent: (event: GuardEvent) => void): () => void {
  const connect = net.Socket.prototype.connect;
  const lookup = dns.lookup;
  const promisesLookup = dns.promises.lookup;

  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const d = connectDestination(args);
    const allowed = d.path !== undefined || isLoopbackHost(d.host);
    onEvent({ allowed, destination: describe(d) });
    if (allowed) return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    const error = new NetworkIsolationError(describe(d));
    process.nextTick(() => this.destroy(error));
    return this;
  } as Connect;

  const refusedName = (hostname: string) => {
    const allowed = isLoopbackHost(hostname);
    onEvent({ allowed, destination: `dns:${hostname}` });
    return allowed ? undefined : new NetworkIsolationError(`${hostname} (DNS lookup)`);
  };
  dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    const error = refusedName(hostname);
    if (!error) return (lookup as (...a: unknown[]) => void)(hostname, ...rest);
    const callback = rest.at(-1) as (err: Error) => void;
    process.nextTick(() => callback(error));
  } as Lookup;
  dns.promises.lookup = (async (hostname: string, ...rest: unknown[]) => {
    const error = refusedName(hostname);
    if (error) throw error;
    return (promisesLookup as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
  }) as PromisesLookup;

  return () => {
    net.Socket.prototype.connect = connect;
    dns.lookup = lookup;
    dns.promises.lookup = promisesLookup;
  };
}

let installed: { count: number; uninstall: () => void; listeners: Set<(e: GuardEvent) => void> } | undefined;

/**
 * Installs the isolation for this process (network and credentials) until the returned function is
 * called. Nested installs (the CLI and the engine both) share one guard; the last release removes it.
 */
export function installIsolation(options: GuardOptions = {}): () => void {
  if (!installed) {
    const listeners = new Set<(e: GuardEvent) => void>();
    const unguard = guardNetwork((event) => {
      for (const listener of listeners) listener(event);
    });
    const restoreEnv = isolateCredentials();
    installed = {
      count: 0,
      listeners,
      uninstall: () => {
        unguard();
        restoreEnv();
      },
    };
  }
  const current = installed;
  current.count++;
  const listener = options.onEvent;
  if (listener) current.listeners.add(listener);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (listener) current.listeners.delete(listener);
    current.count--;
    if (current.count === 0) {
      current.uninstall();
      installed = undefined;
    }
  };
}
