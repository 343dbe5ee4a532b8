/**
 * The fake RDS (`rds/fake-rds.ts`) as the drill uses it, reached by the handlers' own `RDSClient`s
 * (dispatched by the client's region, as the restore harness does). The drill needs four things the
 * fake does not serve (it is shared with the restore's tests and edited elsewhere, so they live here
 * until they move into it): Describe* without an identifier (teardown lists every database), the
 * master user name, ModifyDB* (the drill's password, deletion protection) and DeleteDB* (teardown).
 * A password set on a scratch database is applied to the real MariaDB behind its endpoint.
 */
import {
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from "@aws-sdk/client-rds";
import { vi } from "vitest";
import type { FakeDatabase, FakeRdsRegion } from "../rds/fake-rds.ts";

/** The master user every scratch database was restored with (the snapshot's). */
export const MASTER_USER = "gitpod";

export interface DrillRds {
  /** Called when a ModifyDB* sets a new master password (the MariaDB behind the endpoint applies it). */
  onPassword?: (db: FakeDatabase, password: string) => Promise<void>;
  /** DeleteDB* of the identifiers it accepts fails (InvalidDBInstanceState), as when RDS is busy with them. */
  refuseDelete?: (identifier: string) => boolean;
  /** Identifiers deleted, in order. */
  readonly deleted: string[];
  restore(): void;
}

type Send = (command: unknown) => Promise<unknown>;

/** Serves every `RDSClient` of the process from `regions` (by the client's region), with the drill's commands. */
export function serveDrillRds(regions: Record<string, FakeRdsRegion>): DrillRds {
  const state: DrillRds = {
    deleted: [],
    restore: () => spy.mockRestore(),
  };
  const invalidState = (id: string) =>
    new InvalidDBInstanceStateFault({
      message: `Database ${id} is not in a state that allows deletion (test fault).`,
      $metadata: { httpStatusCode: 400 },
    });
  // What RDS reports and the fake leaves out: the master user and deletion protection.
  const withUser = (x: object, db: FakeDatabase | undefined) => ({
    ...x,
    MasterUsername: MASTER_USER,
    DeletionProtection: db?.settings?.deletionProtection ?? false,
  });
  const spy = vi.spyOn(RDSClient.prototype, "send");
  spy.mockImplementation(async function (this: RDSClient, command: unknown) {
    const region = await this.config.region();
    const fake = regions[region];
    if (!fake) throw new Error(`fake RDS: no region ${region}`);
    const send = fake.client.send.bind(fake.client) as Send;
    const kindOf = (c: unknown) => (c instanceof DescribeDBClustersCommand ? "cluster" : "instance");
    if (command instanceof DescribeDBInstancesCommand || command instanceof DescribeDBClustersCommand) {
      const kind = kindOf(command);
      const input = command.input as { DBInstanceIdentifier?: string; DBClusterIdentifier?: string };
      const wanted = input.DBInstanceIdentifier ?? input.DBClusterIdentifier;
      const ids = wanted ? [wanted] : fake.databases.filter((d) => d.kind === kind).map((d) => d.identifier);
      const found = [];
      for (const id of ids) {
        const out = (await send(
          kind === "instance"
            ? new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })
            : new DescribeDBClustersCommand({ DBClusterIdentifier: id }),
        )) as { DBInstances?: object[]; DBClusters?: object[] };
        found.push(
          ...(out.DBInstances ?? out.DBClusters ?? []).map((x) => withUser(x, fake.database(kind, id))),
        );
      }
      return kind === "instance" ? { DBInstances: found } : { DBClusters: found };
    }
    if (command instanceof ModifyDBInstanceCommand || command instanceof ModifyDBClusterCommand) {
      const kind = command instanceof ModifyDBInstanceCommand ? "instance" : "cluster";
      const input = command.input as {
        DBInstanceIdentifier?: string;
        DBClusterIdentifier?: string;
        MasterUserPassword?: string;
        DeletionProtection?: boolean;
      };
      const id = input.DBInstanceIdentifier ?? input.DBClusterIdentifier ?? "";
      const db = fake.database(kind, id);
      if (!db) return send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })); // its NotFound fault
      if (input.DeletionProtection !== undefined) {
        db.settings = { ...db.settings, deletionProtection: input.DeletionProtection };
      }
      if (input.MasterUserPassword) await state.onPassword?.(db, input.MasterUserPassword);
      return kind === "instance" ? { DBInstance: { DBInstanceIdentifier: id } } : { DBCluster: {} };
    }
    if (command instanceof DeleteDBInstanceCommand || command instanceof DeleteDBClusterCommand) {
      const kind = command instanceof DeleteDBInstanceCommand ? "instance" : "cluster";
      const input = command.input as { DBInstanceIdentifier?: string; DBClusterIdentifier?: string };
      const id = input.DBInstanceIdentifier ?? input.DBClusterIdentifier ?? "";
      const db = fake.database(kind, id);
      if (!db) return send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      if (state.refuseDelete?.(db.identifier) || db.settings?.deletionProtection) throw invalidState(id);
      fake.databases.splice(fake.databases.indexOf(db), 1);
      state.deleted.push(db.identifier);
      return kind === "instance" ? { DBInstance: { DBInstanceIdentifier: id } } : { DBCluster: {} };
    }
    return send(command);
  } as never);
  return state;
}
