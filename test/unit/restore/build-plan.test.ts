import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, KMSClient, NotFoundException } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { type RestoreJobConfig, restoreJobConfigSchema } from "../../../packages/core/src/config.ts";
import { InvalidInputError } from "../../../packages/core/src/errors.ts";
import { buildPlan, modifierName, targetCluster } from "../../../packages/core/src/restore/build-plan.ts";
import { PreconditionFailedError } from "../../../packages/core/src/restore/errors.ts";
import type { RestoreRequest } from "../../../packages/core/src/restore/types.ts";
import { KubeApiError } from "../../../packages/core/src/velero/errors.ts";
import type {
  Deployment,
  KubeObject,
  KubeOps,
  ObjectMeta,
  VeleroPlural,
  WorkloadPlural,
} from "../../../packages/core/src/velero/kube.ts";
import { restoreAttemptName, restoreName } from "../../../packages/core/src/velero/naming.ts";
import { commandsSent, FAKE_VPC, FakeAws } from "../../../packages/sim/src/rds/fake-rds.ts";

const ACCOUNT = "123456789012";
const PRIMARY = "eu-west-1";
const DR = "eu-central-1";
const PRIMARY_REGISTRY = `${ACCOUNT}.dkr.ecr.${PRIMARY}.amazonaws.com`;
const DR_REGISTRY = `${ACCOUNT}.dkr.ecr.${DR}.amazonaws.com`;
const SG_PRIMARY = ["sg-0123456789abcdef0", "sg-0123456789abcdef1"];
const SG_DR = ["sg-0fedcba9876543210"];
const RESTORE_ID = "drill-1";
const OURS = { "gitpod-dr/created-by": "gitpod-dr" };

/**
 * An in-memory cluster implementing KubeOps: Velero objects, nothing else that build-plan reads. Every
 * call is logged, so a test can assert that planning changed nothing.
 */
class FakeKube implements KubeOps {
  readonly calls: string[] = [];
  readonly velero = new Map<string, KubeObject>();
  served = true;
  failGet?: Error;

  put(plural: VeleroPlural, object: KubeObject): void {
    this.velero.set(`${plural}/${object.metadata.namespace ?? "velero"}/${object.metadata.name}`, object);
  }
  async veleroApiServed() {
    this.calls.push("veleroApiServed");
    return this.served;
  }
  async getVelero(plural: VeleroPlural, namespace: string, name: string) {
    this.calls.push(`getVelero ${plural}/${namespace}/${name}`);
    if (this.failGet) throw this.failGet;
    return this.velero.get(`${plural}/${namespace}/${name}`);
  }
  async listVelero(plural: VeleroPlural, namespace: string, labelSelector?: string) {
    this.calls.push(`listVelero ${plural}/${namespace}`);
    const wanted = (labelSelector ?? "").split(",").filter(Boolean);
    return [...this.velero.entries()]
      .filter(([key]) => key.startsWith(`${plural}/${namespace}/`))
      .map(([, o]) => o)
      .filter((o) =>
        wanted.every((kv) => {
          const [k, v] = kv.split("=");
          return o.metadata.labels?.[k as string] === v;
        }),
      );
  }
  async createVelero(plural: VeleroPlural, namespace: string, body: KubeObject) {
    this.calls.push(`createVelero ${plural}/${namespace}/${body.metadata.name}`);
    this.put(plural, body);
    return { created: true, object: body };
  }
  async getDeployment(): Promise<Deployment | undefined> {
    this.calls.push("getDeployment");
    return undefined;
  }
  async getStatefulSet(): Promise<Deployment | undefined> {
    this.calls.push("getStatefulSet");
    return undefined;
  }
  async listWorkloads(plural: WorkloadPlural): Promise<Deployment[]> {
    this.calls.push(`listWorkloads ${plural}`);
    return [];
  }
  async patchWorkload(plural: WorkloadPlural, namespace: string, name: string): Promise<Deployment> {
    this.calls.push(`patchWorkload ${plural}/${namespace}/${name}`);
    return { metadata: { name } };
  }
  readonly secrets = new Map<string, Record<string, string>>();
  async getSecretData(namespace: string, name: string) {
    this.calls.push(`getSecretData ${namespace}/${name}`);
    return this.secrets.get(`${namespace}/${name}`);
  }
  async patchSecretData(namespace: string, name: string) {
    this.calls.push(`patchSecretData ${namespace}/${name}`);
  }
  async listPods(namespace: string) {
    this.calls.push(`listPods ${namespace}`);
    return [];
  }
  async patchPod(namespace: string, name: string) {
    this.calls.push(`patchPod ${namespace}/${name}`);
  }
  async createConfigMap(namespace: string, body: { metadata: ObjectMeta; data: Record<string, string> }) {
    this.calls.push(`createConfigMap ${namespace}/${body.metadata.name}`);
    return { created: true, object: body };
  }
  /** The calls that would change the cluster. */
  writes(): string[] {
    return this.calls.filter((c) => /^(create|patch)/.test(c));
  }
}

function config(
  fields: { images?: boolean; application?: boolean; drCluster?: boolean } = {},
): RestoreJobConfig {
  const { images = true, application = true, drCluster = true } = fields;
  return restoreJobConfigSchema.parse({
    stage: "test",
    account: ACCOUNT,
    regions: { primary: PRIMARY, dr: DR },
    database: { identifier: "gitpod", kind: "instance" },
    ...(application
      ? {
          application: {
            cluster: "gitpod",
            veleroNamespace: "velero",
            storageLocation: "default",
            includedNamespaces: ["gitpod"],
            includeKotsBackups: false,
          },
        }
      : {}),
    restore: {
      targets: {
        primary: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-db",
            securityGroupIds: SG_PRIMARY,
          },
          registry: PRIMARY_REGISTRY,
        },
        dr: {
          ...(drCluster ? { cluster: { name: "gitpod-dr" } } : {}),
          database: {
            instanceClass: "db.r6g.xlarge",
            subnetGroupName: "gitpod-db-dr",
            securityGroupIds: SG_DR,
            kmsKeyArn: `arn:aws:kms:${DR}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
          },
          registry: DR_REGISTRY,
          bucket: { name: "gitpod-workspaces-replica", region: DR },
        },
      },
      ...(images ? { images: { references: ["gitpod/server:1.0", "gitpod/proxy:1.0"] } } : {}),
    },
  });
}

function request(fields: Partial<RestoreRequest> = {}): RestoreRequest {
  const target = fields.target ?? "primary";
  const region = target === "dr" ? DR : PRIMARY;
  return {
    restoreId: RESTORE_ID,
    target,
    region,
    tiers: ["database", "images", "application"],
    dryRun: false,
    allowPartialRestore: false,
    dbSnapshot: "latest",
    veleroBackup: "latest",
    executionStartedAt: "2026-11-26T10:00:00.000Z",
    database: {
      kind: "instance",
      snapshot: {
        identifier: "gitpod-dr-gitpod-2026-11-26-0300",
        arn: `arn:aws:rds:${region}:${ACCOUNT}:snapshot:gitpod-dr-gitpod-2026-11-26-0300`,
        window: "2026-11-26T03:00:00.000Z",
        encrypted: true,
      },
      identifier: "gitpod-dr-gitpod-r-drill-1",
      adopt: false,
    },
    ...fields,
  };
}

const backup = (name: string, started: string, phase = "Completed"): KubeObject => ({
  metadata: { name, namespace: "velero", labels: OURS, creationTimestamp: started },
  status: { phase, startTimestamp: started },
});
const bsl = (phase: string): KubeObject => ({
  metadata: { name: "default", namespace: "velero" },
  status: { phase },
});

/** A cluster with Velero installed, its storage location Available and two gitpod-dr backups. */
function cluster(): FakeKube {
  const kube = new FakeKube();
  kube.put("backupstoragelocations", bsl("Available"));
  kube.put("backups", backup("gitpod-dr-2026-11-25-0200", "2026-11-25T02:00:04Z"));
  kube.put("backups", backup("gitpod-dr-2026-11-26-0200", "2026-11-26T02:00:04Z"));
  kube.put("backups", backup("gitpod-dr-2026-11-26-0800", "2026-11-26T08:00:04Z", "InProgress"));
  return kube;
}

const ec2Mocks: ReturnType<typeof mockClient>[] = [];
const kmsMocks: ReturnType<typeof mockClient>[] = [];
afterEach(() => {
  for (const m of [...ec2Mocks.splice(0), ...kmsMocks.splice(0)]) m.restore();
});

/** The KMS keys of the DR region (a KMSClient per region answering DescribeKey from this map). */
const DR_KEY = `arn:aws:kms:${DR}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;

/**
 * EC2 per region, knowing the given security groups (in FAKE_VPC unless `vpcs` says otherwise); RDS per
 * region (the fake, with the configured subnet groups); KMS per region; and the cluster per name.
 */
function deps(
  kubes: Record<string, FakeKube>,
  groups: Record<string, string[]> = { [PRIMARY]: SG_PRIMARY, [DR]: SG_DR },
  vpcs: Record<string, string> = {},
  keys: Record<string, { KeyState: string; KeySpec?: string; KeyUsage?: string }> = {
    [DR_KEY]: { KeyState: "Enabled" },
  },
) {
  const aws = new FakeAws(() => new Date());
  aws.region(PRIMARY).subnetGroups.add("gitpod-db");
  aws.region(DR).subnetGroups.add("gitpod-db-dr");
  const kms: Record<string, KMSClient> = {};
  for (const region of [PRIMARY, DR]) {
    const client = new KMSClient({
      region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
    });
    const mock = mockClient(client);
    mock.on(DescribeKeyCommand).callsFake((input) => {
      const key = input.KeyId?.split(":")[3] === region ? keys[input.KeyId] : undefined;
      if (!key)
        throw new NotFoundException({ message: `Key '${input.KeyId}' does not exist`, $metadata: {} });
      return { KeyMetadata: { KeyId: input.KeyId, Arn: input.KeyId, ...key } };
    });
    kmsMocks.push(mock);
    kms[region] = client;
  }
  const ec2: Record<string, EC2Client> = {};
  const askedKube: string[] = [];
  for (const region of [PRIMARY, DR]) {
    const client = new EC2Client({
      region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
    });
    const mock = mockClient(client);
    mock.on(DescribeSecurityGroupsCommand).callsFake((input) => {
      const ids = input.Filters?.find((f: { Name?: string }) => f.Name === "group-id")?.Values ?? [];
      return {
        SecurityGroups: ids
          .filter((id: string) => groups[region]?.includes(id))
          .map((id: string) => ({ GroupId: id, VpcId: vpcs[id] ?? FAKE_VPC })),
      };
    });
    ec2Mocks.push(mock);
    ec2[region] = client;
  }
  return {
    askedKube,
    ec2Calls: () => ec2Mocks.flatMap((m) => m.calls().map((c) => c.args[0].constructor.name)),
    aws,
    plan: {
      rds: (region: string) => aws.region(region).client,
      kms: (region: string) => kms[region] as KMSClient,
      ec2: (region: string) => ec2[region] as EC2Client,
      kube: async (name: string, region: string) => {
        askedKube.push(`${name}@${region}`);
        const kube = kubes[name];
        if (!kube) throw new Error(`cluster ${name} not found`);
        return kube;
      },
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe("buildPlan", () => {
  it("primary: the whole plan, the newest Completed backup, no endpoints, and nothing changed", async () => {
    const kube = cluster();
    const d = deps({ gitpod: kube });

    const plan = await buildPlan(request(), config(), d.plan);

    expect(plan).toEqual({
      restoreId: RESTORE_ID,
      target: "primary",
      region: PRIMARY,
      tiers: ["database", "images", "application"],
      database: {
        ...request().database,
        settings: {
          instanceClass: "db.r6g.large",
          subnetGroupName: "gitpod-db",
          securityGroupIds: SG_PRIMARY,
        },
      },
      images: {
        registry: PRIMARY_REGISTRY,
        items: [
          { reference: `${PRIMARY_REGISTRY}/gitpod/server:1.0`, source: `${DR_REGISTRY}/gitpod/server:1.0` },
          { reference: `${PRIMARY_REGISTRY}/gitpod/proxy:1.0`, source: `${DR_REGISTRY}/gitpod/proxy:1.0` },
        ],
      },
      application: {
        cluster: "gitpod",
        veleroNamespace: "velero",
        backup: { name: "gitpod-dr-2026-11-26-0200", takenAt: "2026-11-26T02:00:04Z" },
        restoreName: restoreName(RESTORE_ID),
        modifierName: modifierName(RESTORE_ID),
        adopt: false,
      },
      cluster: "gitpod",
      endpoints: {},
      checked: [
        `security groups ${SG_PRIMARY.join(", ")} exist in ${PRIMARY}`,
        `security groups are in VPC ${FAKE_VPC} of DB subnet group gitpod-db`,
        "snapshot gitpod-dr-gitpod-2026-11-26-0300 is available; DB subnet group gitpod-db exists",
        "latest is snapshot gitpod-dr-gitpod-2026-11-26-0300, the newest by the recovery time gitpod-dr recorded on it (gitpod-dr:window 2026-11-26T03:00:00.000Z)",
        "Velero storage location default in gitpod is Available",
        "Velero backup gitpod-dr-2026-11-26-0200 is Completed",
        "backup gitpod-dr-2026-11-26-0200 has no file-system volumes in gitpod: held by a scheduling gate",
      ],
    });
    expect(modifierName(RESTORE_ID)).toBe("gitpod-dr-restore-drill-1-hold");
    expect(d.askedKube).toEqual([`gitpod@${PRIMARY}`]);
    expect(kube.writes()).toEqual([]);
    expect(d.ec2Calls()).toEqual(["DescribeSecurityGroupsCommand"]);
  });

  it("dr: the DR cluster and region, endpoints with the replica bucket and DR registry, images from the primary registry", async () => {
    const kube = cluster();
    const d = deps({ "gitpod-dr": kube });

    const plan = await buildPlan(request({ target: "dr" }), config(), d.plan);

    expect(plan.endpoints).toEqual({
      bucket: { name: "gitpod-workspaces-replica", region: DR },
      registry: DR_REGISTRY,
    });
    expect(plan.images?.items).toEqual([
      { reference: `${DR_REGISTRY}/gitpod/server:1.0`, source: `${PRIMARY_REGISTRY}/gitpod/server:1.0` },
      { reference: `${DR_REGISTRY}/gitpod/proxy:1.0`, source: `${PRIMARY_REGISTRY}/gitpod/proxy:1.0` },
    ]);
    expect(plan.cluster).toBe("gitpod-dr");
    expect(plan.application?.cluster).toBe("gitpod-dr");
    expect(plan.database?.settings).toEqual({
      instanceClass: "db.r6g.xlarge",
      subnetGroupName: "gitpod-db-dr",
      securityGroupIds: SG_DR,
      kmsKeyArn: `arn:aws:kms:${DR}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
    });
    expect(d.askedKube).toEqual([`gitpod-dr@${DR}`]);
    expect(kube.writes()).toEqual([]);
  });

  it("missing security groups: PreconditionFailed listing each", async () => {
    const d = deps({ gitpod: cluster() }, { [PRIMARY]: [] });

    const error = await rejection(buildPlan(request(), config(), d.plan));

    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.name).toBe("PreconditionFailed");
    expect((error as PreconditionFailedError).problems).toEqual([
      `security groups ${SG_PRIMARY.join(", ")} of restore.targets.primary.database do not exist in ${PRIMARY}`,
    ]);
    expect(error.message).toMatch(/^The restore cannot start: .*\. Nothing was created$/);
  });

  it("one missing security group of two is named alone", async () => {
    const d = deps({ gitpod: cluster() }, { [PRIMARY]: [SG_PRIMARY[0] as string] });
    const error = (await rejection(buildPlan(request(), config(), d.plan))) as PreconditionFailedError;
    expect(error.problems).toEqual([
      `security group ${SG_PRIMARY[1]} of restore.targets.primary.database do not exist in ${PRIMARY}`,
    ]);
  });

  it("a storage location that is not Available: PreconditionFailed naming its phase", async () => {
    const kube = cluster();
    kube.put("backupstoragelocations", bsl("Unavailable"));
    const error = (await rejection(
      buildPlan(request(), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.problems).toEqual([
      "cluster gitpod: BackupStorageLocation default is Unavailable, not Available: Velero cannot read the backups there; check the bucket and Velero's credentials for it",
    ]);
  });

  it("no storage location, and Velero not installed: each named", async () => {
    const kube = cluster();
    kube.velero.delete("backupstoragelocations/velero/default");
    let error = (await rejection(
      buildPlan(request(), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error.problems).toEqual([
      "cluster gitpod: BackupStorageLocation default does not exist in namespace velero: create it (velero backup-location create) or set application.velero.storageLocation",
    ]);

    kube.served = false;
    error = (await rejection(
      buildPlan(request(), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error.problems).toEqual([
      "Velero is not installed in cluster gitpod (velero.io/v1 is not served): install it with the same storage location first",
    ]);
  });

  it("a cluster that cannot be reached, or whose API fails: PreconditionFailed", async () => {
    let error = (await rejection(buildPlan(request(), config(), deps({}).plan))) as PreconditionFailedError;
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.problems).toEqual([`cluster gitpod in ${PRIMARY}: cluster gitpod not found`]);

    const kube = cluster();
    kube.failGet = new KubeApiError("restores is forbidden", 403, "Forbidden");
    error = (await rejection(
      buildPlan(request(), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error.problems).toEqual(["cluster gitpod: restores is forbidden"]);
  });

  it("a named backup that does not exist is InvalidInput naming veleroBackup", async () => {
    const error = await rejection(
      buildPlan(request({ veleroBackup: "nope" }), config(), deps({ gitpod: cluster() }).plan),
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues).toEqual([
      "veleroBackup: Velero backup nope does not exist in namespace velero",
    ]);
  });

  it("latest with no Completed backup is a precondition, not an input problem", async () => {
    const kube = cluster();
    for (const key of [...kube.velero.keys()]) if (key.startsWith("backups/")) kube.velero.delete(key);
    const error = (await rejection(
      buildPlan(request(), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.problems).toEqual([
      "veleroBackup: No Completed Velero backup by gitpod-dr exists in namespace velero",
    ]);
  });

  it("adopts the Restore an earlier attempt of the same restore id created, with its backup", async () => {
    const kube = cluster();
    kube.put("restores", {
      metadata: {
        name: restoreName(RESTORE_ID),
        namespace: "velero",
        labels: { ...OURS, "gitpod-dr/restore-id": RESTORE_ID },
      },
      spec: { backupName: "gitpod-dr-2026-11-25-0200" },
      status: { phase: "InProgress" },
    });

    const plan = await buildPlan(request(), config(), deps({ gitpod: kube }).plan);

    expect(plan.application).toEqual({
      cluster: "gitpod",
      veleroNamespace: "velero",
      backup: { name: "gitpod-dr-2026-11-25-0200" },
      restoreName: restoreName(RESTORE_ID),
      modifierName: modifierName(RESTORE_ID),
      adopt: true,
    });
    expect(plan.checked).toContain(
      `Velero Restore ${restoreName(RESTORE_ID)} of an earlier attempt (InProgress) is adopted`,
    );
    expect(kube.writes()).toEqual([]);
  });

  it("after an attempt whose Restore failed, plans a new attempt from the same backup; PartiallyFailed is adopted only when allowed", async () => {
    const attempt = (name: string, phase: string) => ({
      metadata: { name, namespace: "velero", labels: { ...OURS, "gitpod-dr/restore-id": RESTORE_ID } },
      spec: { backupName: "gitpod-dr-2026-11-25-0200" },
      status: { phase },
    });
    const kube = cluster();
    kube.put("restores", attempt(restoreName(RESTORE_ID), "Failed"));
    kube.put("restores", attempt(restoreAttemptName(RESTORE_ID, 2), "PartiallyFailed"));

    const retry = await buildPlan(request(), config(), deps({ gitpod: kube }).plan);
    // Both earlier Restores failed (PartiallyFailed is a failure without allowPartialRestore): a third.
    expect(retry.application).toEqual({
      cluster: "gitpod",
      veleroNamespace: "velero",
      backup: { name: "gitpod-dr-2026-11-25-0200" },
      restoreName: restoreAttemptName(RESTORE_ID, 3),
      modifierName: modifierName(RESTORE_ID),
      adopt: false,
    });
    expect(restoreAttemptName(RESTORE_ID, 3)).toBe(`${restoreName(RESTORE_ID)}-attempt-3`);
    expect(retry.checked).toContain(
      `Velero Restore ${restoreName(RESTORE_ID)} of an earlier attempt ended Failed: a new attempt restores backup gitpod-dr-2026-11-25-0200 again`,
    );

    const accepted = await buildPlan(
      request({ allowPartialRestore: true }),
      config(),
      deps({ gitpod: kube }).plan,
    );
    expect(accepted.application).toMatchObject({
      restoreName: restoreAttemptName(RESTORE_ID, 2),
      adopt: true,
    });
    expect(kube.writes()).toEqual([]);
  });

  it("a Restore of that name made for another restore id is InvalidInput", async () => {
    const kube = cluster();
    kube.put("restores", {
      metadata: {
        name: restoreName(RESTORE_ID),
        namespace: "velero",
        labels: { ...OURS, "gitpod-dr/restore-id": "other" },
      },
      spec: { backupName: "gitpod-dr-2026-11-25-0200" },
    });
    const error = await rejection(buildPlan(request(), config(), deps({ gitpod: kube }).plan));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues).toEqual([
      `restoreId: a Velero Restore named ${restoreName(RESTORE_ID)} exists in gitpod and was not created by restore ${RESTORE_ID}: use another restoreId`,
    ]);
  });

  it("an adopted Restore from another backup than the one named is InvalidInput", async () => {
    const kube = cluster();
    kube.put("restores", {
      metadata: {
        name: restoreName(RESTORE_ID),
        namespace: "velero",
        labels: { ...OURS, "gitpod-dr/restore-id": RESTORE_ID },
      },
      spec: { backupName: "gitpod-dr-2026-11-25-0200" },
    });
    const error = await rejection(
      buildPlan(
        request({ veleroBackup: "gitpod-dr-2026-11-26-0200" }),
        config(),
        deps({ gitpod: kube }).plan,
      ),
    );
    expect((error as InvalidInputError).issues).toEqual([
      `veleroBackup: restore ${RESTORE_ID} was started from backup gitpod-dr-2026-11-25-0200, not gitpod-dr-2026-11-26-0200: use another restoreId`,
    ]);
  });

  it("input problems and preconditions together: InvalidInput lists both", async () => {
    const d = deps({ gitpod: cluster() }, { [PRIMARY]: [] });
    const error = await rejection(buildPlan(request({ veleroBackup: "nope" }), config(), d.plan));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues).toEqual([
      "veleroBackup: Velero backup nope does not exist in namespace velero",
      `security groups ${SG_PRIMARY.join(", ")} of restore.targets.primary.database do not exist in ${PRIMARY}`,
    ]);
  });

  it("a database-only restore checks that the database Secret can be read, and plans no application", async () => {
    const kube = cluster();
    kube.secrets.set("gitpod/database", { host: "old.db", port: "3306" });
    const plan = await buildPlan(request({ tiers: ["database"] }), config(), deps({ gitpod: kube }).plan);
    expect(plan.application).toBeUndefined();
    expect(plan.images).toBeUndefined();
    expect(plan.cluster).toBe("gitpod");
    expect(plan.checked).toContain("cluster gitpod answers; Secret gitpod/database is readable");
    expect(kube.calls).toEqual(["getSecretData gitpod/database"]);
  });

  it("a database-only restore whose cluster has no database Secret fails before anything is created", async () => {
    const kube = cluster();
    const error = (await rejection(
      buildPlan(request({ tiers: ["database"] }), config(), deps({ gitpod: kube }).plan),
    )) as PreconditionFailedError;
    expect(error.name).toBe("PreconditionFailed");
    expect(error.problems).toEqual([
      "Secret gitpod/database does not exist in cluster gitpod: nothing to point at the restored database",
    ]);
    expect(kube.calls.filter((c) => /^(create|patch)/.test(c))).toEqual([]);
  });

  it("dr without a dr cluster cannot restore the application", async () => {
    const error = (await rejection(
      buildPlan(request({ target: "dr" }), config({ drCluster: false }), deps({}).plan),
    )) as PreconditionFailedError;
    expect(error.problems).toEqual([
      "restore.targets.dr.cluster is not configured: nowhere to restore the application",
    ]);
    expect(targetCluster(config({ drCluster: false }), "dr")).toBeUndefined();
    expect(targetCluster(config({ drCluster: false }), "primary")).toBe("gitpod");
  });
});

describe("buildPlan: the database target's settings are checked before anything is created", () => {
  const AURORA = {
    kind: "cluster" as const,
    snapshot: {
      identifier: "gitpod-dr-gitpod-2026-11-26-0300",
      arn: `arn:aws:rds:${DR}:${ACCOUNT}:cluster-snapshot:gitpod-dr-gitpod-2026-11-26-0300`,
      engine: "aurora-mysql",
      engineVersion: "8.0.mysql_aurora.3.05.2",
      encrypted: true,
    },
    identifier: "gitpod-dr-gitpod-r-drill-1",
    adopt: false,
  };
  const FIELD = "restore.targets.dr.database";
  const auroraRequest = () => request({ target: "dr", tiers: ["database"], database: AURORA });

  /** The stage configuration with the DR target's database settings replaced by `database`'s. */
  function drConfig(database: Record<string, string>): RestoreJobConfig {
    const c = config();
    const dr = c.restore.targets.dr as NonNullable<RestoreJobConfig["restore"]["targets"]["dr"]>;
    return {
      ...c,
      restore: {
        ...c.restore,
        targets: { ...c.restore.targets, dr: { ...dr, database: { ...dr.database, ...database } } },
      },
    };
  }

  function drCluster(): FakeKube {
    const kube = cluster();
    kube.secrets.set("gitpod/database", { host: "old.db", port: "3306" });
    return kube;
  }

  /** PreconditionFailed with `problems`; RDS received only Describe* calls, the cluster no write. */
  async function refused(
    d: ReturnType<typeof deps>,
    kube: FakeKube,
    cfg: RestoreJobConfig,
    problems: string[],
  ) {
    const error = (await rejection(buildPlan(auroraRequest(), cfg, d.plan))) as PreconditionFailedError;
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.name).toBe("PreconditionFailed");
    expect(error.problems).toEqual(problems);
    expect(error.message).toMatch(/Nothing was created$/);
    for (const region of [PRIMARY, DR]) {
      expect(commandsSent(d.aws.region(region)).filter((c) => !c.startsWith("Describe"))).toEqual([]);
    }
    expect(kube.writes()).toEqual([]);
  }

  it("all usable: the plan, with what was checked", async () => {
    const kube = drCluster();
    const d = deps({ "gitpod-dr": kube });
    d.aws.region(DR).parameterGroups.set("gitpod-writer", "aurora-mysql8.0");
    d.aws.region(DR).clusterParameterGroups.set("gitpod-cluster", "aurora-mysql8.0");

    const plan = await buildPlan(
      auroraRequest(),
      drConfig({ parameterGroupName: "gitpod-writer", clusterParameterGroupName: "gitpod-cluster" }),
      d.plan,
    );

    expect(plan.checked).toEqual([
      `security groups ${SG_DR.join(", ")} exist in ${DR}`,
      `security groups are in VPC ${FAKE_VPC} of DB subnet group gitpod-db-dr`,
      `DB parameter group gitpod-writer (aurora-mysql8.0) exists in ${DR}`,
      `DB cluster parameter group gitpod-cluster (aurora-mysql8.0) exists in ${DR}`,
      `KMS key ${DR_KEY} is enabled in ${DR}`,
      "snapshot gitpod-dr-gitpod-2026-11-26-0300 is available; DB subnet group gitpod-db-dr exists",
      "latest is snapshot gitpod-dr-gitpod-2026-11-26-0300, the newest by its SnapshotCreateTime (not reported): it has no gitpod-dr:window tag, and for a copy that time is when it was copied, not when its data was taken",
      "cluster gitpod-dr answers; Secret gitpod/database is readable",
    ]);
  });

  it("latest: says whether the snapshot was chosen by its gitpod-dr:window tag or, without one, by its SnapshotCreateTime", async () => {
    const d = deps({ "gitpod-dr": drCluster() });
    const tagged = { ...AURORA, snapshot: { ...AURORA.snapshot, window: "2026-11-26T03:00:00.000Z" } };
    const untagged = { ...AURORA, snapshot: { ...AURORA.snapshot, createdAt: "2026-11-26T04:12:00.000Z" } };

    const byWindow = await buildPlan(
      request({ target: "dr", tiers: ["database"], database: tagged }),
      config(),
      d.plan,
    );
    const byCreateTime = await buildPlan(
      request({ target: "dr", tiers: ["database"], database: untagged }),
      config(),
      d.plan,
    );

    expect(byWindow.checked).toContain(
      `latest is snapshot ${AURORA.snapshot.identifier}, the newest by the recovery time gitpod-dr recorded on it (gitpod-dr:window 2026-11-26T03:00:00.000Z)`,
    );
    expect(byCreateTime.checked).toContain(
      `latest is snapshot ${AURORA.snapshot.identifier}, the newest by its SnapshotCreateTime (2026-11-26T04:12:00.000Z): it has no gitpod-dr:window tag, and for a copy that time is when it was copied, not when its data was taken`,
    );
  });

  it("a parameter group or cluster parameter group missing in the region: PreconditionFailed naming each setting", async () => {
    const kube = drCluster();
    const d = deps({ "gitpod-dr": kube });
    // They exist in the primary region only.
    d.aws.region(PRIMARY).parameterGroups.set("gitpod-writer", "aurora-mysql8.0");
    d.aws.region(PRIMARY).clusterParameterGroups.set("gitpod-cluster", "aurora-mysql8.0");

    await refused(
      d,
      kube,
      drConfig({ parameterGroupName: "gitpod-writer", clusterParameterGroupName: "gitpod-cluster" }),
      [
        `${FIELD}.parameterGroupName: DB parameter group gitpod-writer does not exist in ${DR}: create it there or fix the setting`,
        `${FIELD}.clusterParameterGroupName: DB cluster parameter group gitpod-cluster does not exist in ${DR}: create it there or fix the setting`,
      ],
    );
  });

  it("a parameter group of another engine family than the snapshot's: PreconditionFailed naming both", async () => {
    const kube = drCluster();
    const d = deps({ "gitpod-dr": kube });
    d.aws.region(DR).parameterGroups.set("gitpod-writer", "mysql8.0");
    d.aws.region(DR).clusterParameterGroups.set("gitpod-cluster", "aurora-mysql5.7");

    await refused(
      d,
      kube,
      drConfig({ parameterGroupName: "gitpod-writer", clusterParameterGroupName: "gitpod-cluster" }),
      [
        `${FIELD}.parameterGroupName: DB parameter group gitpod-writer is of family mysql8.0, but snapshot ${AURORA.snapshot.identifier} is aurora-mysql 8.0.mysql_aurora.3.05.2: use a group of the snapshot's engine family`,
        `${FIELD}.clusterParameterGroupName: DB cluster parameter group gitpod-cluster is of family aurora-mysql5.7, but snapshot ${AURORA.snapshot.identifier} is aurora-mysql 8.0.mysql_aurora.3.05.2: use a group of the snapshot's engine family`,
      ],
    );
  });

  it.each([
    ["missing", {}, `KMS key ${DR_KEY} does not exist in ${DR}`],
    [
      "disabled",
      { [DR_KEY]: { KeyState: "Disabled" } },
      `KMS key ${DR_KEY} is Disabled, not Enabled: RDS cannot encrypt with it`,
    ],
    [
      "pending deletion",
      { [DR_KEY]: { KeyState: "PendingDeletion" } },
      `KMS key ${DR_KEY} is PendingDeletion, not Enabled: RDS cannot encrypt with it`,
    ],
    [
      "asymmetric",
      { [DR_KEY]: { KeyState: "Enabled", KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" } },
      `KMS key ${DR_KEY} is a RSA_2048 key for SIGN_VERIFY: RDS encrypts only with symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)`,
    ],
  ])("the cluster's KMS key %s: PreconditionFailed naming kmsKeyArn", async (_, keys, problem) => {
    const kube = drCluster();
    const d = deps({ "gitpod-dr": kube }, undefined, {}, keys);
    await refused(d, kube, config(), [`${FIELD}.kmsKeyArn: ${problem}`]);
  });

  it("a security group in another VPC than the DB subnet group's: PreconditionFailed naming it and both VPCs", async () => {
    const kube = drCluster();
    const d = deps({ "gitpod-dr": kube }, undefined, { [SG_DR[0] as string]: "vpc-0other" });

    await refused(d, kube, config(), [
      `${FIELD}.securityGroupIds: security group ${SG_DR[0]} is in VPC vpc-0other, but DB subnet group gitpod-db-dr is in VPC ${FAKE_VPC}: RDS accepts only security groups of the subnet group's VPC`,
    ]);
  });
});
