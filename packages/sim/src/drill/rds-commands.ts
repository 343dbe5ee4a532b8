/**
 * The drill's RDS commands over the fake RDS (`rds/fake-rds.ts`), as a plain `send` of one region: what
 * the fake does not serve and the drill needs — Describe* without an identifier (teardown lists every
 * database), the master user name, ModifyDB* (the drill's password, deletion protection) and DeleteDB*
 * (teardown); everything else goes to the fake. No test framework: the rehearsal's account (account.ts)
 * serves its RDS clients through it, and `./rds.ts` serves every `RDSClient` of a test file through it.
 */
import {
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
} from "@aws-sdk/client-rds";
import type { FakeDatabase, FakeRdsRegion } from "../rds/fake-rds.ts";

/** The master user every scratch database was restored with (the snapshot's). */
export const MASTER_USER = "gitpod";

/** What a test or the rehearsal hooks into the drill's commands. */
export interface DrillRdsHooks {
  /** Called when a ModifyDB* sets a new master password (the MariaDB behind the endpoint applies it). */
  onPassword?: (db: FakeDatabase, password: string) => Promise<void>;
  /** DeleteDB* of the identifiers it accepts fails (InvalidDBInstanceState), as when RDS is busy with them. */
  refuseDelete?: (identifier: string) => boolean;
  /** Identifiers deleted, in order. */
  readonly deleted: string[];
}

export type Send = (command: unknown) => Promise<unknown>;

const invalidState = (id: string) =>
  new InvalidDBInstanceStateFault({
    message: `Database ${id} is not in a state that allows deletion (test fault).`,
    $metadata: { httpStatusCode: 400 },
  });

/** The `send` of `fake`'s region with the drill's commands; `hooks` are read at each call. */
export function drillRdsSend(fake: FakeRdsRegion, hooks: DrillRdsHooks): Send {
  const send = fake.client.send.bind(fake.client) as Send;
  // What RDS reports and the fake leaves out: the master user and deletion protection.
  const withUser = (x: object, db: FakeDatabase | undefined) => ({
    ...x,
    MasterUsername: MASTER_USER,
    DeletionProtection: db?.settings?.deletionProtection ?? false,
  });
  const kindOf = (c: unknown) => (c instanceof DescribeDBClustersCommand ? "cluster" : "instance");
  return async (command) => {
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
      if (input.MasterUserPassword) await hooks.onPassword?.(db, input.MasterUserPassword);
      return kind === "instance" ? { DBInstance: { DBInstanceIdentifier: id } } : { DBCluster: {} };
    }
    if (command instanceof DeleteDBInstanceCommand || command instanceof DeleteDBClusterCommand) {
      const kind = command instanceof DeleteDBInstanceCommand ? "instance" : "cluster";
      const input = command.input as { DBInstanceIdentifier?: string; DBClusterIdentifier?: string };
      const id = input.DBInstanceIdentifier ?? input.DBClusterIdentifier ?? "";
      const db = fake.database(kind, id);
      if (!db) return send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      if (hooks.refuseDelete?.(db.identifier) || db.settings?.deletionProtection) throw invalidState(id);
      fake.databases.splice(fake.databases.indexOf(db), 1);
      hooks.deleted.push(db.identifier);
      return kind === "instance" ? { DBInstance: { DBInstanceIdentifier: id } } : { DBCluster: {} };
    }
    return send(command);
  };
}
