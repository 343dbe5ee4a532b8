/**
 * The fake RDS's regions: each region's state (databases, snapshots, subnet and parameter groups), its
 * own mocked `RDSClient`, and the checks its commands (./fake-rds-handlers.ts) make of that state.
 *
 * Each region gets its own `RDSClient` instance mocked with `mockClient(instance)`: mocking the class
 * would give both regions the same stub. Describe* answers page by page with `Marker`, Create/Copy/Delete
 * change the region's arrays and fail with the SDK's own exception classes, as RDS does.
 */
import {
  DBClusterNotFoundFault,
  DBClusterSnapshotAlreadyExistsFault,
  DBClusterSnapshotNotFoundFault,
  DBInstanceNotFoundFault,
  DBParameterGroupNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  InvalidDBClusterSnapshotStateFault,
  InvalidDBSnapshotStateFault,
  RDSClient,
  type RDSClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type Tag,
} from "@aws-sdk/client-rds";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import type { DatabaseKind } from "../../../core/src/rds/types.ts";
import { installRdsHandlers } from "./fake-rds-handlers.ts";
import {
  ACCOUNT,
  type FakeDatabase,
  type FakeSnapshot,
  fault,
  fromTagList,
  invalidParameter,
  type SnapshotView,
} from "./fake-rds-model.ts";

export class FakeAws {
  private readonly regions = new Map<string, FakeRdsRegion>();

  constructor(readonly clock: () => Date) {}

  region(name: string): FakeRdsRegion {
    let region = this.regions.get(name);
    if (!region) {
      region = new FakeRdsRegion(name, this);
      this.regions.set(name, region);
    }
    return region;
  }

  findByArn(arn: string): { region: FakeRdsRegion; snapshot: FakeSnapshot } | undefined {
    const [, , , regionName, , resource, identifier] = arn.split(":");
    const region = regionName ? this.regions.get(regionName) : undefined;
    if (!region || !identifier) return undefined;
    const kind: DatabaseKind | undefined =
      resource === "snapshot" ? "instance" : resource === "cluster-snapshot" ? "cluster" : undefined;
    const snapshot = kind ? region.find(kind, identifier) : undefined;
    return snapshot ? { region, snapshot } : undefined;
  }
}

export class FakeRdsRegion {
  readonly client: RDSClient;
  readonly mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, RDSClientResolvedConfig>;
  readonly databases: FakeDatabase[] = [];
  readonly snapshots: Record<DatabaseKind, FakeSnapshot[]> = { instance: [], cluster: [] };
  /** The names of the region's DB subnet groups (RDS keeps them lower-cased, and matches any case). */
  readonly subnetGroups = new Set<string>();
  /** The VPC of a subnet group (lower-cased name); FAKE_VPC when not set. */
  readonly subnetGroupVpcs = new Map<string, string>();
  /** DB parameter groups by lower-cased name: their family (`mysql8.0`). */
  readonly parameterGroups = new Map<string, string>();
  /** DB cluster parameter groups by lower-cased name: their family (`aurora-mysql8.0`). */
  readonly clusterParameterGroups = new Map<string, string>();
  /** Describe*Snapshots answers at most this many per page. */
  pageSize = 100;
  /** The `Marker` of every Describe*Snapshots call, in order. */
  readonly markersSeen: (string | undefined)[] = [];
  /** Runs before a Create*Snapshot is applied: a test simulates a concurrent invocation here. */
  beforeCreate?: (identifier: string) => void;

  constructor(
    readonly name: string,
    readonly aws: FakeAws,
  ) {
    this.client = new RDSClient({
      region: name,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
    });
    this.mock = mockClient(this.client);
    installRdsHandlers(this);
  }

  arn(kind: DatabaseKind | "db" | "cluster-db", identifier: string): string {
    const resource =
      kind === "instance"
        ? "snapshot"
        : kind === "cluster"
          ? "cluster-snapshot"
          : kind === "db"
            ? "db"
            : "cluster";
    return `arn:aws:rds:${this.name}:${ACCOUNT}:${resource}:${identifier}`;
  }

  /** The snapshot with that identifier: RDS stores identifiers lower-cased and matches them in any case. */
  find(kind: DatabaseKind, identifier: string): FakeSnapshot | undefined {
    return this.snapshots[kind].find((s) => s.identifier.toLowerCase() === identifier.toLowerCase());
  }

  add(kind: DatabaseKind, snapshot: FakeSnapshot): FakeSnapshot {
    this.snapshots[kind].push(snapshot);
    return snapshot;
  }

  /** The DB instance or cluster with that identifier (RDS identifiers are case-insensitive). */
  database(kind: DatabaseKind, identifier: string): FakeDatabase | undefined {
    return this.databases.find(
      (d) => d.kind === kind && d.identifier.toLowerCase() === identifier.toLowerCase(),
    );
  }

  /**
   * Moves a database to `status`, as RDS does over time; an `available` one gets its endpoint.
   * @throws when there is no such database (a mistake in the test).
   */
  settle(kind: DatabaseKind, identifier: string, status = "available"): FakeDatabase {
    const db = this.database(kind, identifier);
    if (!db) throw new Error(`fake RDS: no DB ${kind} ${identifier}`);
    db.status = status;
    if (status === "available" && !db.endpoint) {
      const engine = db.engine ?? "";
      db.endpoint = {
        address: `${db.identifier}.${kind === "cluster" ? "cluster-" : ""}c0ffee.${this.name}.rds.amazonaws.com`,
        port: engine.includes("postgres") ? 5432 : 3306,
      };
    }
    return db;
  }

  /** The region's snapshots of one family as a test compares them, sorted by identifier. */
  view(kind: DatabaseKind): SnapshotView[] {
    return this.snapshots[kind]
      .map((s) => {
        const view: SnapshotView = { identifier: s.identifier, status: s.status, tags: { ...s.tags } };
        if (s.kmsKeyId !== undefined) view.kmsKeyId = s.kmsKeyId;
        if (s.sourceArn !== undefined) view.sourceArn = s.sourceArn;
        return view;
      })
      .sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  identifiers(kind: DatabaseKind): string[] {
    return this.view(kind).map((s) => s.identifier);
  }

  /** RDS refuses a Restore* or CreateDBInstance that names a parameter group the region does not have. */
  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  checkParameterGroups(input: { DBParameterGroupName?: string; DBClusterParameterGroupName?: string }) {
    const { DBParameterGroupName: pg, DBClusterParameterGroupName: cpg } = input;
    if (pg !== undefined && !this.parameterGroups.has(pg.toLowerCase())) {
      throw fault(DBParameterGroupNotFoundFault, `DB Parameter Group ${pg} not found.`);
    }
    if (cpg !== undefined && !this.clusterParameterGroups.has(cpg.toLowerCase())) {
      throw fault(DBParameterGroupNotFoundFault, `DBClusterParameterGroup not found: ${cpg}`);
    }
  }

  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  page(
    kind: DatabaseKind,
    input: {
      SnapshotType?: string;
      Marker?: string;
      MaxRecords?: number;
      DBSnapshotIdentifier?: string;
      DBClusterSnapshotIdentifier?: string;
    },
  ): { items: FakeSnapshot[]; marker?: string | undefined } {
    const wanted = input.DBSnapshotIdentifier ?? input.DBClusterSnapshotIdentifier;
    if (wanted !== undefined) {
      // One snapshot by name, as RDS answers it: the snapshot, or a NotFound fault.
      const found = this.find(kind, wanted);
      if (!found) {
        throw kind === "instance"
          ? fault(DBSnapshotNotFoundFault, `DBSnapshot ${wanted} not found.`)
          : fault(DBClusterSnapshotNotFoundFault, `DBClusterSnapshot ${wanted} not found.`);
      }
      return { items: [found] };
    }
    this.markersSeen.push(input.Marker);
    const all = this.snapshots[kind].filter((s) => !input.SnapshotType || s.type === input.SnapshotType);
    const start = input.Marker ? Number(input.Marker) : 0;
    const end = start + Math.min(this.pageSize, input.MaxRecords ?? 100);
    return { items: all.slice(start, end), marker: end < all.length ? String(end) : undefined };
  }

  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  create(
    kind: DatabaseKind,
    databaseIdentifier: string | undefined,
    identifier: string | undefined,
    tags: Tag[] | undefined,
  ): FakeSnapshot {
    if (!identifier || !databaseIdentifier) throw new Error("fake RDS: create without identifiers");
    this.beforeCreate?.(identifier);
    const db = this.database(kind, databaseIdentifier);
    if (!db) {
      throw kind === "instance"
        ? fault(DBInstanceNotFoundFault, `DBInstance ${databaseIdentifier} not found.`)
        : fault(DBClusterNotFoundFault, `DBCluster ${databaseIdentifier} not found.`);
    }
    if (this.find(kind, identifier)) {
      throw kind === "instance"
        ? fault(
            DBSnapshotAlreadyExistsFault,
            `Cannot create the snapshot because a snapshot with the identifier ${identifier} already exists.`,
          )
        : fault(
            DBClusterSnapshotAlreadyExistsFault,
            `Cannot create the cluster snapshot because one with the identifier ${identifier} already exists.`,
          );
    }
    return this.add(kind, {
      identifier: identifier.toLowerCase(),
      databaseIdentifier: db.identifier,
      status: "creating",
      type: "manual",
      createdAt: this.aws.clock(),
      tags: fromTagList(tags),
      encrypted: db.encrypted,
      ...(db.kmsKeyId ? { kmsKeyId: db.kmsKeyId } : {}),
    });
  }

  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  copy(
    kind: DatabaseKind,
    sourceArn: string | undefined,
    identifier: string | undefined,
    kmsKeyId: string | undefined,
    tags: Tag[] | undefined,
  ): FakeSnapshot {
    if (!sourceArn || !identifier) throw new Error("fake RDS: copy without identifiers");
    const found = this.aws.findByArn(sourceArn);
    if (!found) {
      throw kind === "instance"
        ? fault(DBSnapshotNotFoundFault, `DBSnapshot ${sourceArn} not found.`)
        : fault(DBClusterSnapshotNotFoundFault, `DBClusterSnapshot ${sourceArn} not found.`);
    }
    const { region: sourceRegion, snapshot: source } = found;
    if (source.status !== "available") {
      throw kind === "instance"
        ? fault(InvalidDBSnapshotStateFault, `Snapshot ${source.identifier} is not in available state.`)
        : fault(
            InvalidDBClusterSnapshotStateFault,
            `Snapshot ${source.identifier} is not in available state.`,
          );
    }
    if (sourceRegion !== this && source.encrypted && !kmsKeyId) {
      throw invalidParameter("KmsKeyId is required to copy an encrypted snapshot to another region.");
    }
    if (kind === "cluster" && !source.encrypted && kmsKeyId) {
      throw invalidParameter("KmsKeyId must not be given for an unencrypted cluster snapshot.");
    }
    if (this.find(kind, identifier)) {
      throw kind === "instance"
        ? fault(DBSnapshotAlreadyExistsFault, `Snapshot ${identifier} already exists.`)
        : fault(DBClusterSnapshotAlreadyExistsFault, `Cluster snapshot ${identifier} already exists.`);
    }
    const encrypted = source.encrypted || kmsKeyId !== undefined;
    return this.add(kind, {
      identifier: identifier.toLowerCase(),
      databaseIdentifier: source.databaseIdentifier,
      status: "pending",
      type: "manual",
      createdAt: source.createdAt,
      copiedAt: this.aws.clock(),
      tags: fromTagList(tags),
      encrypted,
      ...(encrypted ? { kmsKeyId: kmsKeyId ?? source.kmsKeyId } : {}),
      sourceArn,
    });
  }

  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  delete(kind: DatabaseKind, identifier: string | undefined): FakeSnapshot {
    const list = this.snapshots[kind];
    const index = list.findIndex((s) => s.identifier.toLowerCase() === identifier?.toLowerCase());
    const s = list[index];
    if (!s) {
      throw kind === "instance"
        ? fault(DBSnapshotNotFoundFault, `DBSnapshot ${identifier} not found.`)
        : fault(DBClusterSnapshotNotFoundFault, `DBClusterSnapshot ${identifier} not found.`);
    }
    // RDS deletes only snapshots that are not being created or copied.
    if (s.status !== "available" && s.status !== "failed") {
      throw kind === "instance"
        ? fault(InvalidDBSnapshotStateFault, `Snapshot ${identifier} is ${s.status}.`)
        : fault(InvalidDBClusterSnapshotStateFault, `Snapshot ${identifier} is ${s.status}.`);
    }
    list.splice(index, 1);
    return s;
  }

  /**
   * The snapshot a Restore* request names (identifier, or ARN in this region), as RDS checks it.
   * @throws the SDK's NotFound fault, or its InvalidState fault when the snapshot is not available.
   */
  /** @internal for the handlers of ./fake-rds-handlers.ts. */
  restorable(kind: DatabaseKind, wanted: string | undefined): FakeSnapshot {
    const byArn = wanted?.startsWith("arn:") ? this.aws.findByArn(wanted) : undefined;
    const snapshot =
      wanted === undefined
        ? undefined
        : wanted.startsWith("arn:")
          ? byArn?.region === this &&
            this.arn(kind, byArn.snapshot.identifier).toLowerCase() === wanted.toLowerCase()
            ? byArn.snapshot
            : undefined
          : this.find(kind, wanted);
    if (!snapshot) {
      throw kind === "instance"
        ? fault(DBSnapshotNotFoundFault, `DBSnapshot ${wanted} not found.`)
        : fault(DBClusterSnapshotNotFoundFault, `DBClusterSnapshot ${wanted} not found.`);
    }
    if (snapshot.status !== "available") {
      throw kind === "instance"
        ? fault(InvalidDBSnapshotStateFault, `Snapshot ${snapshot.identifier} is not in available state.`)
        : fault(
            InvalidDBClusterSnapshotStateFault,
            `Snapshot ${snapshot.identifier} is not in available state.`,
          );
    }
    return snapshot;
  }
}
