/**
 * `gitpod-dr velero-backup` and `velero-status` against the Kubernetes API simulator: a real stage file
 * (TypeScript, loaded with tsx as the CLI does), the command functions with an injected `connect`
 * returning the real client-node `KubeOps` (as the function's identity, under deploy/rbac.yaml), and
 * `main` for the usage errors that fail before any cluster is reached.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXIT_USAGE, main } from "../../packages/cli/src/main.ts";
import {
  type ConnectCluster,
  veleroBackupCommand,
  veleroStatusCommand,
} from "../../packages/cli/src/velero.ts";
import type { StageConfig } from "../../packages/core/src/config.ts";
import { RestKubeOps } from "../../packages/core/src/velero/kube-client.ts";
import { type KubeApi, kubeTime, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  backupsIn,
  FUNCTION_USER,
  rejection,
  seedBackup,
  seedGitpod,
  seedVelero,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const TOKEN = "cli-user-token";
const WINDOW = "2026-11-26T02:00:00Z";
const NAME = "gitpod-dr-2026-11-26-0200";

const STAGE = {
  database: { identifier: "gitpod-db", kind: "instance" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
};

let dir: string;
let withApp: string;
let withoutApp: string;
let api: KubeApi;
const connected: StageConfig[] = [];

const connect: ConnectCluster = async (config) => {
  connected.push(config);
  return new RestKubeOps(
    { name: config.application?.cluster.name ?? "?", server: api.url, caData: api.caData },
    async () => TOKEN,
  );
};

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gitpod-dr-velero-cli-"));
  withApp = join(dir, "prod.ts");
  withoutApp = join(dir, "noapp.ts");
  const application = {
    cluster: { name: "gitpod" },
    schedule: "cron(0 2 * * ? *)",
    velero: {
      namespace: "velero",
      storageLocation: "default",
      ttl: "720h0m0s",
      includedNamespaces: ["gitpod"],
    },
    kots: "auto",
    stuckAfterMinutes: 240,
  };
  await writeFile(
    withApp,
    `// A stage file as a user writes it.\nexport default ${JSON.stringify({ ...STAGE, application }, null, 2)};\n`,
  );
  await writeFile(withoutApp, `export default ${JSON.stringify(STAGE, null, 2)};\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  connected.length = 0;
  api = await startKubeApi({
    authenticate: (token) => (token === TOKEN ? FUNCTION_USER : undefined),
    rbac: loadRbac(),
  });
  seedVelero(api.store);
  seedGitpod(api.store);
});

afterEach(async () => {
  await api.stop();
});

describe("velero-backup", () => {
  it("--dry-run prints the summary and creates nothing", async () => {
    const { io, out, err } = capture();
    const code = await veleroBackupCommand(["--config", withApp, "--dry-run", "--time", WINDOW], io, connect);

    expect(code).toBe(0);
    expect(out.join("\n")).toBe(
      [
        "Velero backup of cluster gitpod, window 2026-11-26-0200  [dry run: nothing was created]",
        `  backup: ${NAME} (would be created)`,
        "  Velero v1.16.2",
        "  previous backup: none (the first backup by gitpod-dr)",
      ].join("\n"),
    );
    expect(err).toEqual([]);
    expect(backupsIn(api.store)).toEqual([]);
    expect(api.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(connected[0]?.application?.cluster.name).toBe("gitpod");
  });

  it("a real run creates the backup and prints created; a second says it already existed", async () => {
    const first = capture();
    expect(await veleroBackupCommand(["--config", withApp, "--time", WINDOW], first.io, connect)).toBe(0);
    expect(first.out.join("\n")).toContain(`  backup: ${NAME} (created)`);
    expect(backupsIn(api.store).map((b) => [b.metadata.name, b.metadata.labels])).toEqual([
      [NAME, { "gitpod-dr/created-by": "gitpod-dr", "gitpod-dr/window": "2026-11-26-0200" }],
    ]);

    const second = capture();
    expect(
      await veleroBackupCommand(["--config", withApp, "--time", WINDOW, "--json"], second.io, connect),
    ).toBe(0);
    expect(JSON.parse(second.out.join("\n"))).toMatchObject({
      window: "2026-11-26-0200",
      backup: { name: NAME, created: false, alreadyExisted: true },
    });
    expect(backupsIn(api.store)).toHaveLength(1);
    expect(api.requests.filter((r) => r.status === 401 || r.status === 403)).toEqual([]);
  });

  it("prints the summary, then fails, when the previous backup failed", async () => {
    seedBackup(api.store, "gitpod-dr-2026-11-25-0200", {
      createdAt: "2026-11-25T02:00:05Z",
      phase: "PartiallyFailed",
      ours: true,
      status: { errors: 1, warnings: 4, failureReason: "restic repository is locked" },
    });
    const { io, out } = capture();
    const error = await rejection(veleroBackupCommand(["--config", withApp, "--time", WINDOW], io, connect));

    expect(error.name).toBe("VeleroBackupFailed");
    const text = out.join("\n");
    expect(text).toContain(`  backup: ${NAME} (created)`);
    expect(text).toContain("  previous backup: gitpod-dr-2026-11-25-0200: PartiallyFailed, ");
    expect(text).toContain("1 error(s), 4 warning(s), restic repository is locked");
    expect(backupsIn(api.store)).toHaveLength(2);
  });

  it("through main: a stage file without an application section is a usage error (exit 2)", async () => {
    const { io, out, err } = capture();
    expect(await main(["velero-backup", "--config", withoutApp, "--dry-run"], io)).toBe(EXIT_USAGE);
    expect(err.join("\n")).toBe(
      `gitpod-dr velero-backup: ${withoutApp} has no "application" section: there is no cluster to back up`,
    );
    expect(out).toEqual([]);

    const status = capture();
    expect(await main(["velero-status", "--config", withoutApp], status.io)).toBe(EXIT_USAGE);
    expect(status.err.join("\n")).toContain('has no "application" section');

    const noConfig = capture();
    expect(await main(["velero-backup"], noConfig.io)).toBe(EXIT_USAGE);
    expect(noConfig.err.join("\n")).toContain("velero-backup needs --config FILE");
    expect(api.requests).toEqual([]);
  });
});

describe("velero-status", () => {
  const minutesAgo = (minutes: number) => kubeTime(new Date(Date.now() - minutes * 60_000));

  it("lists gitpod-dr's backups newest first with phase and age, and exits 1 when one failed", async () => {
    seedBackup(api.store, "gitpod-dr-a-oldest", {
      createdAt: minutesAgo(3 * 1440 + 5),
      phase: "Completed",
      ours: true,
    });
    seedBackup(api.store, "gitpod-dr-b-failed", {
      createdAt: minutesAgo(26 * 60),
      phase: "PartiallyFailed",
      ours: true,
      status: { errors: 2, warnings: 1, failureReason: "snapshot failed" },
    });
    seedBackup(api.store, "gitpod-dr-c-newest", {
      createdAt: minutesAgo(30),
      phase: "InProgress",
      ours: true,
    });
    seedBackup(api.store, "not-ours", { createdAt: minutesAgo(1), phase: "Failed" });

    const { io, out } = capture();
    const code = await veleroStatusCommand(["--config", withApp], io, connect);

    expect(code).toBe(1);
    expect(out).toEqual([
      "Velero backups by gitpod-dr on cluster gitpod (newest first):",
      "  gitpod-dr-c-newest  InProgress        30 min old  0 error(s), 0 warning(s)",
      "  gitpod-dr-b-failed  PartiallyFailed     26 h old  2 error(s), 1 warning(s)  snapshot failed",
      "  gitpod-dr-a-oldest  Completed            3 d old  0 error(s), 0 warning(s)",
    ]);
  });

  it("exits 0 when none failed; --json gives the listing", async () => {
    seedBackup(api.store, "gitpod-dr-x", { createdAt: minutesAgo(90), phase: "Completed", ours: true });
    const { io, out } = capture();
    expect(await veleroStatusCommand(["--config", withApp, "--json"], io, connect)).toBe(0);
    expect(JSON.parse(out.join("\n"))).toEqual([
      { name: "gitpod-dr-x", phase: "Completed", ageMinutes: 90, errors: 0, warnings: 0 },
    ]);
  });

  it("says so when there is no backup by gitpod-dr", async () => {
    seedBackup(api.store, "not-ours", { createdAt: minutesAgo(1), phase: "Completed" });
    const { io, out } = capture();
    expect(await veleroStatusCommand(["--config", withApp], io, connect)).toBe(0);
    expect(out).toEqual(["No Velero backups by gitpod-dr in namespace velero of cluster gitpod"]);
  });
});
