import type http from "node:http";
import type { IncomingMessage } from "node:http";
import type https from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * The HTTP client under the registry transport: Node's own `http`/`https` with keep-alive agents.
 * Built in, so it costs nothing to load (a CLI run or a Lambda cold start), and its streams carry
 * backpressure from a destination socket back to a source socket.
 */

export interface HttpAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

export type HttpBody = Buffer | string | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface HttpRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: HttpBody;
  readonly signal?: AbortSignal;
  readonly agents: HttpAgents;
  /** A socket idle this long fails the request with `ETIMEDOUT` (temporary). */
  readonly idleTimeoutMs?: number;
}

export interface HttpResponse {
  readonly statusCode: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: IncomingMessage;
}

// The CommonJS modules, not `import http from "node:http"`: an ES import builds node:http's ES facade,
// which reads every export, and its WebSocket/MessageEvent getters load Node's bundled undici (~15-40 ms
// of a CLI start on the build machine, 2026-12-03: `node --cpu-prof` of `gitpod-dr sync-images`).
const httpModule = process.getBuiltinModule("node:http");
const httpsModule = process.getBuiltinModule("node:https");

let shared: HttpAgents | undefined;

/** The process-wide keep-alive agents: connections are reused across requests, copies and registries. */
export function sharedAgents(): HttpAgents {
  shared ??= {
    http: new httpModule.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 32, scheduling: "lifo" }),
    https: new httpsModule.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 32, scheduling: "lifo" }),
  };
  return shared;
}

function flatten(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/**
 * Sends one request and resolves when the response headers arrive; the body is the caller's to read or
 * `discard`. A stream body is piped with backpressure; if it fails (a verification error), the request
 * is destroyed with that error so the server never sees a complete body.
 */
export function httpRequest(url: URL, request: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "https:";
    const req = (secure ? httpsModule : httpModule).request(url, {
      method: request.method,
      headers: request.headers,
      agent: secure ? request.agents.https : request.agents.http,
      timeout: request.idleTimeoutMs ?? 120_000,
    });
    // The signal stops this exchange only while it is in flight, and without an error of its own: with
    // Node's `signal` option, or `destroy(abortError)`, the AbortError is also handed to streams that no
    // longer listen for it (seen as an uncaught exception in test/integration/registry-faults.test.ts,
    // about 1 run in 30). Destroyed plainly, the request fails as a reset ("socket hang up", or the
    // body's "aborted"), which the callers report as CopyAborted because their signal is aborted.
    const signal = request.signal;
    const onAbort = () => req.destroy();
    const release = () => signal?.removeEventListener("abort", onAbort);
    if (signal?.aborted) process.nextTick(onAbort);
    else signal?.addEventListener("abort", onAbort, { once: true });
    req.once("close", release);
    let settled = false;
    const fail = (error: unknown) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    };
    req.on("error", fail);
    req.on("timeout", () =>
      req.destroy(
        Object.assign(new Error(`no data for ${request.idleTimeoutMs ?? 120_000} ms`), { code: "ETIMEDOUT" }),
      ),
    );
    req.on("response", (res) => {
      settled = true;
      // Once the response has arrived, a later socket failure belongs to the body stream.
      res.on("error", () => undefined);
      res.once("end", release);
      res.once("close", release);
      resolve({ statusCode: res.statusCode ?? 0, headers: flatten(res.headers), body: res });
    });
    const body = request.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else {
      const source =
        body instanceof Readable
          ? body
          : Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
      pipeline(source, req).catch((error) => {
        req.destroy(error);
        fail(error);
      });
    }
  });
}

/** Reads and drops a response body (so the connection can be reused). */
export async function discard(body: IncomingMessage): Promise<void> {
  if (body.readableEnded || body.destroyed) return;
  try {
    for await (const _ of body) {
      // dropped
    }
  } catch {
    // The connection is dropped instead of reused.
  }
}
