import { GitpodDrError } from "../errors.ts";
import { networkError, registryErrorFrom } from "./errors.ts";
import { discard, type HttpAgents, type HttpBody, type HttpResponse, httpRequest } from "./http.ts";

/**
 * The transport's lowest layers, each a `RoundTrip` wrapping the next as go-containerregistry wraps
 * `http.RoundTripper`s: `roundTrip` (one exchange, network failures classified), `followRedirects`,
 * and `checkStatus` (an unexpected status becomes a `RegistryError`). `http.ts` below them stays a
 * plain HTTP client that knows nothing of registries.
 */

/** One request as the transport's layers pass it down: the URL absolute, the headers complete. */
export interface RegistryRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: HttpBody;
  readonly signal?: AbortSignal;
  /** What the call does and where, for error messages: `GET manifest a:t at reg.test`. */
  readonly what: string;
  /** Token scopes this request needs (`repository:foo:pull,push`). */
  readonly scopes: readonly string[];
  /** Statuses that are success for this call; `checkStatus` turns any other into an error. */
  readonly expect: readonly number[];
  readonly followRedirects?: boolean;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body stream; the caller must consume it or call `dump()`. */
  readonly body: NodeJS.ReadableStream & AsyncIterable<Buffer> & { destroy(error?: Error): void };
  /** Reads and drops the body, so the connection is reused. */
  dump(): Promise<void>;
  /** The final URL (after redirects). */
  readonly url: string;
}

/** One layer of the transport (go-containerregistry's `http.RoundTripper`). */
export type RoundTrip = (request: RegistryRequest) => Promise<RegistryResponse>;

/** Whether a body can be sent again (a stream cannot): only such requests are retried or re-authenticated. */
export function isReplayable(body: HttpBody | undefined): boolean {
  return body === undefined || typeof body === "string" || Buffer.isBuffer(body);
}

/**
 * The innermost layer: one exchange. A failure without an HTTP status (reset, refused, timeout) becomes
 * a `RegistryError` saying whether it is temporary; our own errors (a body that failed verification)
 * and aborts pass unchanged.
 */
export function roundTrip(agents: HttpAgents): RoundTrip {
  return async (request) => {
    let result: HttpResponse;
    try {
      result = await httpRequest(new URL(request.url), {
        method: request.method,
        headers: request.headers,
        agents,
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      if (request.signal?.aborted || error instanceof GitpodDrError) throw error;
      throw networkError(error, request.what);
    }
    const body = result.body;
    return {
      status: result.statusCode,
      headers: result.headers,
      body,
      url: request.url,
      dump: () => discard(body),
    };
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Follows 3xx answers (blob downloads are redirected to storage) for requests that ask for it, at most
 * five hops. The `Authorization` header goes only where `trusted` says (the registry itself, over the
 * scheme it was configured with): never to another host a redirect names, never over plain HTTP.
 */
export function followRedirects(inner: RoundTrip, trusted: (url: URL) => boolean): RoundTrip {
  return async (request) => {
    let response = await inner(request);
    if (!request.followRedirects) return response;
    const { authorization, ...anonymous } = request.headers;
    for (let hops = 0; hops < 5; hops++) {
      const location = response.headers.location;
      if (!location || !REDIRECTS.has(response.status)) break;
      await response.dump();
      const url = new URL(location, response.url);
      const headers = authorization !== undefined && trusted(url) ? request.headers : anonymous;
      response = await inner({ ...request, url: url.toString(), headers });
    }
    return response;
  };
}

/**
 * Turns an answer whose status is not in `request.expect` into a `RegistryError` carrying the
 * registry's error code and `Retry-After` (go-containerregistry's `CheckError`).
 */
export function checkStatus(inner: RoundTrip, now: () => number): RoundTrip {
  return async (request) => {
    const response = await inner(request);
    if (request.expect.includes(response.status)) return response;
    const text = await readText(response.body);
    throw registryErrorFrom(response.status, response.headers, text, request.what, now());
  };
}

/** Reads a body as text, up to `limit` characters; a body cut short yields what arrived. */
export async function readText(body: AsyncIterable<Buffer>, limit = 65_536): Promise<string> {
  let text = "";
  try {
    for await (const chunk of body) {
      if (text.length < limit) text += Buffer.from(chunk as Uint8Array).toString("utf8");
    }
  } catch {
    // A body cut short is still reported by its status.
  }
  return text.slice(0, limit);
}
