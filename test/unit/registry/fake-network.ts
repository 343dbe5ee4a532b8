/**
 * A fake network for registry tests: one local `node:http` server that answers for any host name by the
 * request's `Host` header, and HTTP agents that connect every request (http:// or https://, any host) to
 * it in plain HTTP. Passed as the transport's `agents`, it lets the real transport and `node:http`
 * client talk to `https://reg.test` or an ECR host name without DNS, TLS or the internet.
 */
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import type { HttpAgents } from "../../../packages/core/src/registry/http.ts";

export interface Exchange {
  readonly method: string;
  /** The `Host` header: `reg.test`, `auth.test`, `127.0.0.1:5000`. */
  readonly host: string;
  /** Path with query, as sent. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The client hung up before the body ended (an upload cut short on purpose). */
  readonly aborted: boolean;
}

/** An answer, or `"reset"` to drop the connection without one (the client sees ECONNRESET). */
export type Reply =
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string | Buffer;
    }
  | "reset";

export type Handler = (exchange: Exchange) => Reply | Promise<Reply>;

export class FakeNetwork {
  /** Every request received, in order (including ones whose body was cut short). */
  readonly requests: Exchange[] = [];
  private readonly routes = new Map<string, Handler>();

  private constructor(
    private readonly server: http.Server,
    readonly agents: HttpAgents,
  ) {}

  static async start(): Promise<FakeNetwork> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const connect = () => net.connect(port, "127.0.0.1");
    class RoutedHttpAgent extends http.Agent {
      override createConnection() {
        return connect();
      }
    }
    class RoutedHttpsAgent extends https.Agent {
      override createConnection() {
        return connect();
      }
    }
    const network = new FakeNetwork(server, {
      http: new RoutedHttpAgent({ keepAlive: true }),
      https: new RoutedHttpsAgent({ keepAlive: true }),
    });
    server.on("request", (req, res) => void network.answer(req, res));
    return network;
  }

  /** Serves `host` (the `Host` header value) with `handler`; replaces an earlier handler. */
  route(host: string, handler: Handler): void {
    this.routes.set(host, handler);
  }

  requestsTo(host: string): Exchange[] {
    return this.requests.filter((r) => r.host === host);
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let aborted = false;
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      aborted = true;
    }
    if (!req.complete) aborted = true;
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : value;
    }
    const exchange: Exchange = {
      method: req.method ?? "GET",
      host: headers.host ?? "",
      path: req.url ?? "/",
      headers,
      body: Buffer.concat(chunks),
      aborted,
    };
    this.requests.push(exchange);
    if (aborted) return;
    const handler = this.routes.get(exchange.host);
    let reply: Reply;
    try {
      reply = handler ? await handler(exchange) : { status: 502, body: `no route to ${exchange.host}` };
    } catch (error) {
      reply = { status: 500, body: `handler failed: ${(error as Error).message}` };
    }
    if (reply === "reset") {
      req.socket.destroy();
      return;
    }
    const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
    res.writeHead(reply.status, {
      "content-length": String(body.length),
      ...reply.headers,
    });
    res.end(exchange.method === "HEAD" ? undefined : body);
  }
}
