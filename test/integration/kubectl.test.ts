/**
 * The Kubernetes simulator checked with the REAL kubectl (/usr/bin/kubectl): namespaces, `create -f`
 * with validation (OpenAPI v3 + server-side strict field validation), watch (`get -w`, `rollout
 * status`), health endpoints, discovery verbs and `auth can-i`. A real client is the check that the
 * simulator follows the API conventions.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeApi, type KubeUser, startKubeApi } from "../../packages/sim/src/kube/server.ts";

const USERS: Record<string, KubeUser> = {
  admin: { name: "admin", groups: ["system:masters", "system:authenticated"] },
  reader: { name: "reader", groups: ["readers", "system:authenticated"] },
};

/** Readers may get/list/watch ConfigMaps in `gitpod`, and nothing else. */
const RBAC = [
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "cm-reader", namespace: "gitpod" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "cm-reader", namespace: "gitpod" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
    subjects: [{ kind: "Group", name: "readers" }],
  },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let api: KubeApi;
let dir: string;

/** The kubeconfig for `user` (bearer token = the user's key in USERS), trusting the simulator's CA. */
function kubeconfig(user: string): string {
  const file = path.join(dir, `${user}.kubeconfig`);
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: sim",
      "  cluster:",
      `    server: ${api.url}`,
      `    certificate-authority-data: ${api.caData}`,
      "users:",
      `- name: ${user}`,
      "  user:",
      `    token: ${user}`,
      "contexts:",
      "- name: sim",
      `  context: {cluster: sim, user: ${user}, namespace: default}`,
      "current-context: sim",
      "",
    ].join("\n"),
  );
  return file;
}

/**
 * Runs kubectl asynchronously (the simulator answers from this process: a synchronous child would
 * block it). `timeoutMs` ends commands that do not end on their own (`get -w`) with SIGTERM.
 */
function kubectl(
  args: string[],
  options: { user?: string; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", args, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin",
        HOME: dir,
        KUBECONFIG: kubeconfig(options.user ?? "admin"),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "kubectl-sim-"));
  api = await startKubeApi({ authenticate: (token) => USERS[token], rbac: RBAC });
  // The namespace the create, apply and can-i tests use (RBAC grants readers configmaps in it).
  expect((await kubectl(["create", "namespace", "gitpod"])).code).toBe(0);
});

afterAll(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("kubectl against the simulator: namespaces", () => {
  it("get ns lists the namespaces a cluster starts with, and the one created", async () => {
    const run = await kubectl(["get", "ns", "-o", "name"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n")).toEqual([
      "namespace/default",
      "namespace/gitpod", // created by beforeAll
      "namespace/kube-node-lease",
      "namespace/kube-public",
      "namespace/kube-system",
    ]);
  });

  it("creates a namespace, refuses objects in one that does not exist, and deletes one with its contents", async () => {
    const created = await kubectl(["create", "namespace", "ns-life"]);
    expect(created.stdout.trim()).toBe("namespace/ns-life created");
    const ns = api.store.get("v1", "Namespace", "", "ns-life");
    expect(ns?.status?.phase).toBe("Active");
    expect(ns?.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "ns-life" });

    const refused = await kubectl(["-n", "ns-missing", "create", "configmap", "c", "--from-literal=a=b"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('namespaces "ns-missing" not found');
    expect(api.store.get("v1", "ConfigMap", "ns-missing", "c")).toBeUndefined();
    expect(api.store.get("v1", "Namespace", "", "ns-missing")).toBeUndefined();

    expect((await kubectl(["-n", "ns-life", "create", "configmap", "c", "--from-literal=a=b"])).code).toBe(0);
    const deleted = await kubectl(["delete", "namespace", "ns-life"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe('namespace "ns-life" deleted');
    expect(api.store.get("v1", "Namespace", "", "ns-life")).toBeUndefined();
    expect(api.store.get("v1", "ConfigMap", "ns-life", "c")).toBeUndefined();
    const gone = await kubectl(["get", "ns", "ns-life"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('namespaces "ns-life" not found');
  });
});

describe("kubectl against the simulator: create -f with validation (OpenAPI v3, fieldValidation)", () => {
  it("creates valid objects with kubectl's default --validate (strict), without --validate=false", async () => {
    const manifest = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: valid, namespace: gitpod}",
      "data: {a: b}",
      "---",
      "apiVersion: velero.io/v1",
      "kind: Backup",
      "metadata: {name: nightly, namespace: gitpod}",
      "spec: {ttl: 24h0m0s, includedNamespaces: [gitpod]}",
    ].join("\n");
    const run = await kubectl(["create", "-f", "-"], { input: manifest });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n")).toEqual([
      "configmap/valid created",
      "backup.velero.io/nightly created",
    ]);
    expect(api.store.get("v1", "ConfigMap", "gitpod", "valid")?.data).toEqual({ a: "b" });
    expect(api.store.get("velero.io/v1", "Backup", "gitpod", "nightly")?.spec).toEqual({
      ttl: "24h0m0s",
      includedNamespaces: ["gitpod"],
    });
    // kubectl read the group-version's OpenAPI v3 document and left validation to the server.
    const paths = api.requests.map((r) => `${r.method} ${r.path}?${r.query}`);
    expect(paths).toContainEqual(expect.stringMatching(/^GET \/openapi\/v3\/api\/v1\?hash=/));
    expect(paths).toContainEqual(
      "POST /api/v1/namespaces/gitpod/configmaps?fieldManager=kubectl-create&fieldValidation=Strict",
    );
  });

  it("refuses unknown fields (strict decoding, 400) and creates nothing; --validate=warn creates with warnings", async () => {
    const manifest =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: gitpod, labelz: {a: b}}\nextra: 1\n";
    const strict = await kubectl(["create", "-f", "-"], { input: manifest });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(
      'Error from server (BadRequest): error when creating "STDIN": strict decoding error: unknown field "extra", unknown field "metadata.labelz"',
    );
    expect(api.store.get("v1", "ConfigMap", "gitpod", "typo")).toBeUndefined();

    const crd =
      "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: typo, namespace: gitpod}\nsepc: {}\n";
    const refused = await kubectl(["create", "-f", "-"], { input: crd });
    expect(refused.stderr).toContain(".sepc: field not declared in schema");
    expect(api.store.get("velero.io/v1", "Backup", "gitpod", "typo")).toBeUndefined();

    const warned = await kubectl(["create", "--validate=warn", "-f", "-"], { input: manifest });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "extra"');
    expect(api.store.get("v1", "ConfigMap", "gitpod", "typo")).toBeDefined();
  });
});

describe("kubectl against the simulator: apply", () => {
  it("apply creates, then configures (strategic merge patch for a Deployment, merge patch for a Backup)", async () => {
    const deployment = (replicas: number) =>
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: applied, namespace: gitpod}",
        "spec:",
        `  replicas: ${replicas}`,
        "  selector: {matchLabels: {app: applied}}",
        "  template:",
        "    metadata: {labels: {app: applied}}",
        '    spec: {containers: [{name: applied, image: "example.com/applied:1"}]}',
      ].join("\n");
    const backup = (ttl: string) =>
      `apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: applied, namespace: gitpod}\nspec: {ttl: ${ttl}}\n`;
    for (const [manifest, verb] of [
      [`${deployment(3)}\n---\n${backup("1h0m0s")}`, "created"],
      [`${deployment(2)}\n---\n${backup("2h0m0s")}`, "configured"],
    ] as const) {
      const run = await kubectl(["apply", "-f", "-"], { input: manifest });
      expect(run.stderr).toBe("");
      expect(run.stdout.trim().split("\n")).toEqual([
        `deployment.apps/applied ${verb}`,
        `backup.velero.io/applied ${verb}`,
      ]);
    }
    expect(api.store.get("apps/v1", "Deployment", "gitpod", "applied")?.spec?.replicas).toBe(2);
    expect(api.store.get("velero.io/v1", "Backup", "gitpod", "applied")?.spec?.ttl).toBe("2h0m0s");
    const patches = api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/applied"));
    expect(patches.map((r) => r.contentType)).toEqual([
      "application/strategic-merge-patch+json",
      "application/merge-patch+json",
    ]);
  });
});

/** Resolves once the simulator has received `count` watch requests whose path ends with `suffix`. */
async function watching(suffix: string, count = 1): Promise<void> {
  const deadline = Date.now() + 10_000;
  const watches = () =>
    api.requests.filter((r) => r.path.endsWith(suffix) && /(^|&)watch=(true|1)/.test(r.query));
  while (watches().length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} watches on ${suffix}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("kubectl against the simulator: watch", () => {
  beforeAll(async () => {
    expect((await kubectl(["create", "namespace", "watched"])).code).toBe(0);
  });

  it("get -w prints each change as it happens (bounded: the watch is ended after the changes)", async () => {
    api.store.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "before", namespace: "watched" },
      data: { a: "0" },
    });
    const columns = "custom-columns=EVENT:.type,NAME:.object.metadata.name,A:.object.data.a";
    const run = kubectl(
      ["-n", "watched", "get", "configmaps", "-w", "--output-watch-events", "-o", columns],
      {
        timeoutMs: 5_000,
      },
    );
    await watching("/namespaces/watched/configmaps");
    const cm = (a: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: live, namespace: watched}\ndata: {a: "${a}"}\n`;
    expect((await kubectl(["create", "-f", "-"], { input: cm("1") })).code).toBe(0);
    expect(
      (await kubectl(["-n", "watched", "patch", "configmap", "live", "-p", '{"data":{"a":"2"}}'])).code,
    ).toBe(0);
    expect((await kubectl(["-n", "watched", "delete", "configmap", "live"])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    const child = await Promise.race([
      run,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100)),
    ]);
    expect(child).toBeUndefined(); // still watching: a watch does not end on its own
    const { stdout } = await run;
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => line.trim().split(/\s+/)),
    ).toEqual([
      ["EVENT", "NAME", "A"],
      ["ADDED", "before", "0"],
      ["ADDED", "live", "1"],
      ["MODIFIED", "live", "2"],
      ["DELETED", "live", "2"],
    ]);
  });

  it("rollout status follows a Deployment's rollout to the end, and reports one that exceeds its progress deadline", async () => {
    const deployment = (name: string) =>
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        `metadata: {name: ${name}, namespace: watched}`,
        "spec:",
        "  replicas: 3",
        `  selector: {matchLabels: {app: ${name}}}`,
        "  template:",
        `    metadata: {labels: {app: ${name}}}`,
        `    spec: {containers: [{name: ${name}, image: "example.com/${name}:1"}]}`,
      ].join("\n");
    expect((await kubectl(["create", "-f", "-"], { input: deployment("web") })).code).toBe(0);
    expect((await kubectl(["create", "-f", "-"], { input: deployment("stuck") })).code).toBe(0);
    api.velero.stallRollout("watched", "stuck");
    const runs = Promise.all([
      kubectl(["-n", "watched", "rollout", "status", "deployment/web", "--timeout=20s"]),
      kubectl(["-n", "watched", "rollout", "status", "deployment/stuck", "--timeout=20s"]),
    ]);
    // The controllers move once both commands watch, so they see the rollout happen.
    await watching("/namespaces/watched/deployments", 2);
    const ticking = setInterval(() => api.velero.tick(), 200);
    try {
      const [web, stuck] = await runs;
      expect(web.code).toBe(0);
      expect(web.stdout).toContain(
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
      );
      expect(web.stdout.trim().split("\n").at(-1)).toBe('deployment "web" successfully rolled out');
      expect(api.store.get("apps/v1", "Deployment", "watched", "web")?.status?.readyReplicas).toBe(3);
      expect(stuck.code).toBe(1);
      expect(stuck.stderr).toContain('deployment "stuck" exceeded its progress deadline');
    } finally {
      clearInterval(ticking);
    }
  });
});

describe("kubectl against the simulator: health, discovery verbs, auth can-i", () => {
  it("answers /healthz, /readyz and /livez (without credentials too)", async () => {
    expect((await kubectl(["get", "--raw", "/readyz"])).stdout).toBe("ok");
    expect((await kubectl(["get", "--raw", "/livez?verbose"])).stdout).toContain("livez check passed");
    for (const endpoint of ["/healthz", "/readyz", "/livez"]) {
      const anonymous = await fetchText(`${api.url}${endpoint}`);
      expect(anonymous).toEqual({ status: 200, text: "ok" });
    }
  });

  it("advertises only verbs it serves: kubectl replace (update) and delete work where discovery says so", async () => {
    const resources = await kubectl(["api-resources", "-o", "wide", "--no-headers"]);
    const verbs = new Map(
      resources.stdout
        .trim()
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .map((cols) => [cols[0] as string, cols.find((c) => c.includes("get") || c === "create") as string]),
    );
    expect(verbs.get("configmaps")).toBe("create,delete,get,list,patch,update,watch");
    expect(verbs.get("namespaces")).toBe("create,delete,get,list,patch,update,watch");
    expect(verbs.get("selfsubjectaccessreviews")).toBe("create");
    expect([...verbs.values()].some((v) => v.includes("deletecollection"))).toBe(false);

    const cm = (a: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: replaced, namespace: default}\ndata: {a: "${a}"}\n`;
    expect((await kubectl(["create", "-f", "-"], { input: cm("1") })).code).toBe(0);
    const replaced = await kubectl(["replace", "-f", "-"], { input: cm("2") });
    expect(replaced.stdout.trim()).toBe("configmap/replaced replaced");
    expect(api.store.get("v1", "ConfigMap", "default", "replaced")?.data).toEqual({ a: "2" });
    expect(api.requests.at(-1)).toMatchObject({ method: "PUT", status: 200 });
    expect((await kubectl(["delete", "configmap", "replaced"])).stdout.trim()).toBe(
      'configmap "replaced" deleted',
    );
    expect(api.store.get("v1", "ConfigMap", "default", "replaced")).toBeUndefined();
  });

  it("answers kubectl auth can-i from the simulator's RBAC (SelfSubjectAccessReview)", async () => {
    const canI = async (user: string, ...args: string[]) => {
      const run = await kubectl(["auth", "can-i", ...args], { user });
      return `${run.stdout.trim()} (${run.code})`;
    };
    expect(await canI("reader", "get", "configmaps", "-n", "gitpod")).toBe("yes (0)");
    expect(await canI("reader", "watch", "configmaps", "-n", "gitpod")).toBe("yes (0)");
    expect(await canI("reader", "delete", "configmaps", "-n", "gitpod")).toBe("no (1)");
    expect(await canI("reader", "get", "configmaps", "-n", "default")).toBe("no (1)");
    expect(await canI("reader", "create", "backups.velero.io", "-n", "gitpod")).toBe("no (1)");
    expect(await canI("admin", "delete", "namespaces")).toBe("yes (0)");
    // And the answer is what the API then does.
    const denied = await kubectl(["-n", "default", "get", "configmaps"], { user: "reader" });
    expect(denied.stderr).toContain(
      'configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
  });
});

/** A GET without credentials, trusting the simulator's CA. */
function fetchText(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: api.caPem }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
  });
}
