/**
 * The Kubernetes REST transport's own failure modes, against a local HTTPS server with the simulator's
 * throwaway CA (the API conventions themselves are checked through RestKubeOps against the Kubernetes
 * API simulator in test/integration/velero-*.test.ts, kube-restore-sim, fs-volume-hold, drill-kube-sim).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError } from "../../../packages/core/src/velero/errors.ts";
import { KubeHttp } from "../../../packages/core/src/velero/kube-http.ts";
import { testCertificates } from "../../../packages/sim/src/kube/certs.ts";

const TOKEN = "k8s-aws-v1.c2VjcmV0LXRva2Vu";
let server: https.Server;
let url: string;
let caData: string;
interface Seen {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();

beforeAll(async () => {
  const certs = await testCertificates();
  caData = Buffer.from(certs.caPem).toString("base64");
  server = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      seen.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body,
      });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const http = (server = url, ca = caData, timeoutMs?: number) =>
  new KubeHttp({ name: "gitpod", server, caData: ca }, async () => TOKEN, timeoutMs);

async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubeApiError);
  return error as KubeApiError;
}

describe("KubeHttp", () => {
  it("sends the bearer token, the query and a JSON body to the path under the server's own prefix", async () => {
    answer = (_req, res) => res.writeHead(201, { "content-type": "application/json" }).end('{"ok":true}');
    seen.length = 0;
    const out = await http(`${url}/k8s/clusters/c-1/`).request("Patch x", {
      method: "PATCH",
      path: "/api/v1/namespaces/a%2Fb/secrets/s",
      query: { labelSelector: "app=x,!y", limit: 500, continue: undefined },
      body: { data: { k: "dg==" } },
      contentType: "application/merge-patch+json",
    });
    expect(out).toEqual({ ok: true });
    expect(seen).toEqual([
      {
        method: "PATCH",
        url: "/k8s/clusters/c-1/api/v1/namespaces/a%2Fb/secrets/s?labelSelector=app%3Dx%2C%21y&limit=500",
        authorization: `Bearer ${TOKEN}`,
        contentType: "application/merge-patch+json",
        body: '{"data":{"k":"dg=="}}',
      },
    ]);
  });

  it("turns a non-JSON error page into a retryable KubeApiError with the status", async () => {
    answer = (_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>");
    const error = await rejection(
      http().request("Get deployment velero/velero", { method: "GET", path: "/x" }),
    );
    expect(error).toMatchObject({ status: 502, reason: "HTTP_502", retryable: true });
    expect(error.message).toBe(
      "Get deployment velero/velero on cluster gitpod: HTTP 502 (HTTP 502 HTTP_502)",
    );
  });

  it("names what to fix on 403 and keeps Kubernetes' Status; the token is in no message", async () => {
    answer = (_req, res) =>
      res
        .writeHead(403, { "content-type": "application/json" })
        .end('{"kind":"Status","reason":"Forbidden","message":"backups.velero.io is forbidden"}');
    const error = await rejection(http().request("Create backups", { method: "POST", path: "/x", body: {} }));
    expect(error).toMatchObject({ status: 403, reason: "Forbidden", retryable: false });
    expect(error.message).toContain(
      "backups.velero.io is forbidden (HTTP 403 Forbidden) — the function's group may not do this: kubectl apply -f its manifest (deploy/rbac.yaml for backups",
    );
    expect(error.message).not.toContain(TOKEN);
  });

  it("trusts only the cluster's CA: a server certificate from another CA is refused, and not retried", async () => {
    answer = (_req, res) => res.end("{}");
    const otherCa = Buffer.from(rootCertificates[0] as string).toString("base64");
    const error = await rejection(http(url, otherCa).request("Discover", { method: "GET", path: "/api" }));
    // A wrong CA or someone in between: retrying would only delay the message a person must read.
    expect(error).toMatchObject({ status: 0, retryable: false });
    expect(error.reason).toMatch(/CERT|SIGNATURE|ISSUER/);
  });

  it("gives up on a server that trickles its answer, at the whole request's deadline", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      const trickle = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(trickle));
    };
    const started = Date.now();
    const error = await rejection(
      http(url, caData, 300).request("Discover", { method: "GET", path: "/api" }),
    );
    expect(error).toMatchObject({ status: 0, reason: "ETIMEDOUT", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("reports a refused connection and a server that does not answer in time, both retryable", async () => {
    const closed = await rejection(
      http("https://127.0.0.1:1").request("Discover", { method: "GET", path: "/api" }),
    );
    expect(closed).toMatchObject({ status: 0, reason: "ECONNREFUSED", retryable: true });

    answer = () => {}; // never answers
    const slow = await rejection(http(url, caData, 200).request("Discover", { method: "GET", path: "/api" }));
    expect(slow).toMatchObject({ status: 0, reason: "ETIMEDOUT", retryable: true });
    expect(slow.message).toBe("Discover on cluster gitpod: no answer within 0.2 s (ETIMEDOUT)");
  });

  it("sends a request once more when the kept-alive connection it was given has been closed", async () => {
    const perSocket = new WeakMap<object, number>();
    answer = (req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      // The second request on a connection: the server has dropped it (as after a Lambda freeze).
      if (n === 2) req.socket.destroy();
      else res.writeHead(200, { "content-type": "application/json" }).end(`{"n":${n}}`);
    };
    seen.length = 0;
    const client = http();
    expect(await client.request("Get a", { method: "GET", path: "/a" })).toEqual({ n: 1 });
    expect(await client.request("Get b", { method: "GET", path: "/b" })).toEqual({ n: 1 });
    expect(seen.map((r) => r.url)).toEqual(["/a", "/b", "/b"]);
  });

  it("refuses an endpoint that is not https:// (the token is never sent in clear)", () => {
    expect(() => http("http://127.0.0.1:8080")).toThrow(KubeApiError);
    expect(() => http("http://127.0.0.1:8080")).toThrow("the API server endpoint must be https://");
  });
});
