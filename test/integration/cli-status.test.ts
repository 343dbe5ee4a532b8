/**
 * `gitpod-dr status` against a local catalog (dynalite): the table a person reads, the JSON, and the
 * exit codes of a monitoring probe (0 every tier within its target, 1 one is not, 2 bad usage).
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../packages/cli/src/main.ts";
import { statusCommand } from "../../packages/cli/src/status.ts";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import { createCatalogTable, startDynalite } from "../../packages/sim/src/catalog/dynalite.ts";
import { bucketEntry, databaseEntry, imagesEntry } from "../../packages/sim/src/catalog/entries.ts";

const STAGE = {
  database: { identifier: "gitpod-db", kind: "instance" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
  storage: {
    schedule: "rate(1 hour)",
    buckets: ["gitpod-workspace-backups"],
    destinations: { buckets: ["gitpod-workspace-backups-dr"] },
  },
  images: {
    schedule: "rate(6 hours)",
    rules: [
      {
        name: "gitpod-to-dr",
        source: { registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" },
        repositories: ["gitpod/*"],
        destination: { registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com" },
      },
    ],
  },
  rpo: { database: "50h" },
};
const NOW = new Date("2026-11-26T04:00:00Z");

let server: Server;
let dir: string;
let file: string;
let store: CatalogStore;
let raw: DynamoDBClient;

beforeAll(async () => {
  const started = await startDynalite();
  server = started.server;
  raw = new DynamoDBClient({
    endpoint: started.endpoint,
    region: "eu-central-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  dir = mkdtempSync(join(tmpdir(), "gitpod-dr-status-"));
  vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", started.endpoint);
  vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let count = 0;
beforeEach(async () => {
  count += 1;
  const stage = `status${count}`;
  file = join(dir, `${stage}.ts`);
  writeFileSync(file, `export default ${JSON.stringify(STAGE)};\n`);
  await createCatalogTable(raw, `gitpod-dr-${stage}-catalog`);
  store = new CatalogStore(DynamoDBDocumentClient.from(raw), `gitpod-dr-${stage}-catalog`);
  await store.put(databaseEntry("2026-11-25T03:00:00Z"));
  await store.put(databaseEntry("2026-11-26T03:00:00Z"));
  await store.put(bucketEntry("gitpod-workspace-backups", "2026-11-26T03:30:00Z"));
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe("gitpod-dr status", () => {
  it("prints a table per tier and the recovery point; exit 0 when every tier is within its target", async () => {
    await store.put(imagesEntry("2026-11-26T01:00:00Z"));
    const { io, out } = capture();

    const code = await statusCommand(["--config", file], io, () => NOW);

    expect(code).toBe(0);
    // The stage name (and so the table's name) differs per test: the first line is checked apart.
    const [first, ...rest] = out.join("\n").split("\n");
    expect(first).toBe(
      `gitpod-dr status of stage status${count} at 2026-11-26T04:00:00.000Z (catalog gitpod-dr-status${count}-catalog in eu-central-1)`,
    );
    expect(rest.join("\n")).toMatchInlineSnapshot(`
      "
      TIER                        NEWEST GOOD COPY                                                           AGE     RPO      STATUS
      database                    snapshot gitpod-dr-gitpod-db-202611260300                                  1h 00m  50h 00m  OK
      objectStorage               bucket gitpod-workspace-backups replicated up to 2026-11-26T03:30:00.000Z  30m     3h 00m   OK
        gitpod-workspace-backups                                                                             30m
      images                      image sync started 2026-11-26T01:00:00.000Z                                3h 00m  8h 00m   OK
      last drill                  none recorded                                                              -

      Newest complete recovery point: 2026-11-25T03:00:00.000Z (snapshot gitpod-dr-gitpod-db-202611250300)
      A restore started now ({}) would use: nothing: the stage configures no restore"
    `);
  });

  it("exits 1 when a tier is past its target (a monitoring probe), and --json says which", async () => {
    const { io, out } = capture();

    const code = await main(["status", "--config", file, "--json"], { ...io });

    expect(code).toBe(1);
    const report = JSON.parse(out.join("\n"));
    const images = report.tiers.find((t: { tier: string }) => t.tier === "images");
    expect(images).toEqual({
      tier: "images",
      targetSeconds: 8 * 3600,
      status: "BREACH",
      newest: "no complete image sync recorded",
    });
    expect(report.missing).toEqual(["images: no complete image sync"]);
  });

  it("exits 2 for bad usage", async () => {
    const { io, err } = capture();
    expect(await main(["status"], io)).toBe(2);
    expect(err.join("\n")).toContain("status needs --config FILE");
    expect(await main(["status", "--config", file, "--verbose"], io)).toBe(2);
  });
});
