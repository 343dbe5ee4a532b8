import https from "node:https";
import { KubeApiError } from "./errors.ts";

/**
 * The Kubernetes REST transport: one HTTPS request to the API server, trusting only the cluster's CA,
 * with the current bearer token, answered with the parsed JSON body. Every failure is a `KubeApiError`
 * carrying Kubernetes' `Status` (reason, message) and, for 401 and 403, what to fix. Node's own `https`
 * and no client library: `@kubernetes/client-node` and its undici were 1.5 MB of each cluster handler's
 * 2.4–3.2 MB bundle for the dozen REST calls gitpod-dr makes (npm run bench:bundles).
 */

export interface ClusterEndpoint {
  readonly name: string;
  /** `https://…` API server endpoint (a path prefix, as behind a proxy, is kept). */
  readonly server: string;
  /** Base64 PEM of the cluster CA (as EKS `DescribeCluster` returns it). */
  readonly caData: string;
}

export interface KubeRequest {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  /** `/api/v1/…` or `/apis/{group}/{version}/…`, segments already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  /** Defaults to `application/json`; a PATCH names its strategy (`application/merge-patch+json`). */
  readonly contentType?: string;
}

/** No answer within this long is a (retryable) network failure; the API server answers in milliseconds. */
export const KUBE_TIMEOUT_MS = 30_000;

const HINTS: Readonly<Record<number, string>> = {
  401: " — the cluster does not accept the function's identity: check the EKS access entry for its role",
  // One client serves the backup, the restore and the drill, each with its own group and manifest.
  403: " — the function's group may not do this: kubectl apply -f its manifest (deploy/rbac.yaml for backups, deploy/rbac-restore.yaml for the restore, deploy/rbac-drill.yaml for the drill)",
};

/** Reads Kubernetes' `Status` (reason, message) from an error response's body, whatever it holds. */
function statusOf(code: number, text: string): { reason: string; message: string } {
  let body: { reason?: unknown; message?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON (a proxy's HTML page): the status line is all there is
  }
  return {
    reason: typeof body?.reason === "string" && body.reason ? body.reason : `HTTP_${code}`,
    message: typeof body?.message === "string" && body.message ? body.message : `HTTP ${code}`,
  };
}

export class KubeHttp {
  private readonly agent: https.Agent;
  private readonly base: URL;

  /**
   * @throws KubeApiError when the endpoint is not `https://` (the token is never sent in clear).
   */
  constructor(
    readonly endpoint: ClusterEndpoint,
    /** The current bearer token (cached by the caller until shortly before it expires). */
    private readonly token: () => Promise<string>,
    private readonly timeoutMs = KUBE_TIMEOUT_MS,
  ) {
    this.base = new URL(endpoint.server);
    if (this.base.protocol !== "https:") {
      throw new KubeApiError(
        `cluster ${endpoint.name}: the API server endpoint must be https:// (got ${this.base.protocol}//${this.base.host})`,
        0,
        "InvalidEndpoint",
      );
    }
    // The cluster's CA only (not the system roots), like a kubeconfig's certificate-authority-data.
    this.agent = new https.Agent({ ca: Buffer.from(endpoint.caData, "base64"), keepAlive: true });
  }

  /**
   * Sends one request; `what` names it in errors (`Get deployment velero/velero`).
   * @returns the parsed JSON body of a 2xx answer (undefined when empty)
   * @throws KubeApiError with Kubernetes' status and reason for a non-2xx answer; with status 0 and the
   *   network error's code (ECONNREFUSED, ETIMEDOUT, a TLS code) when there was no answer
   */
  async request(what: string, req: KubeRequest): Promise<unknown> {
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/$/, "")}${req.path}`;
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${await this.token()}`,
      ...(payload === undefined
        ? {}
        : {
            "content-type": req.contentType ?? "application/json",
            "content-length": String(Buffer.byteLength(payload)),
          }),
    };
    let answer: { status: number; text: string };
    try {
      answer = await this.send(url, req.method, headers, payload).catch((error: unknown) => {
        // A kept-alive connection the server closed (while Lambda was frozen, say): the request most
        // likely never reached it, so it is sent once more on a new connection (Node's documented
        // pattern, `request.reusedSocket`). Every call RestKubeOps makes may be repeated: create answers
        // 409 the second time, merge patches and deletes are idempotent.
        const e = error as { reused?: boolean; code?: string };
        if (e.reused && e.code === "ECONNRESET") return this.send(url, req.method, headers, payload);
        throw error;
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = error instanceof Error ? error.message : String(error);
      throw new KubeApiError(
        `${what} on cluster ${this.endpoint.name}: ${message}${code ? ` (${code})` : ""}`,
        0,
        code ?? "NetworkError",
        { cause: error },
      );
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) {
      try {
        return text ? JSON.parse(text) : undefined;
      } catch (error) {
        throw new KubeApiError(
          `${what} on cluster ${this.endpoint.name}: the answer (HTTP ${status}) is not JSON`,
          status,
          "InvalidResponse",
          { cause: error },
        );
      }
    }
    const { reason, message } = statusOf(status, text);
    throw new KubeApiError(
      `${what} on cluster ${this.endpoint.name}: ${message} (HTTP ${status} ${reason})${HINTS[status] ?? ""}`,
      status,
      reason,
    );
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = https.request(url, { method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      // A deadline for the whole request, not only an idle socket (a peer trickling a byte now and then).
      const deadline = setTimeout(
        () =>
          request.destroy(
            Object.assign(new Error(`no answer within ${this.timeoutMs / 1000} s`), { code: "ETIMEDOUT" }),
          ),
        this.timeoutMs,
      );
      request.on("close", () => clearTimeout(deadline));
      request.on("error", (error) => reject(Object.assign(error, { reused: request.reusedSocket })));
      request.end(payload);
    });
  }
}
