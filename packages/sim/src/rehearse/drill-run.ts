/**
 * The stage's restore drill in a rehearsal: at each virtual time its schedule fires, the drill state
 * machine synthesized from the stack (in the deployment of the drill's target region) runs in
 * aws-local-stepfunctions, every Task bound to the REAL handler (packages/functions/src/drill.ts and
 * drill-database.ts) with the deployed function's surroundings (`functionSurroundings`: environment,
 * the account's clients, `Date` on the virtual clock, `fetch` kept to 127.0.0.1). Wait states take no
 * real time: their seconds move the virtual clock of the branch they are in. The scratch database
 * becomes available a modelled RDS restore time after its restore started; its endpoint is a private
 * MariaDB (`drill/mariadb.ts`) holding a Gitpod-shaped copy of the data, whose certificate the drill's
 * TLS ("Amazon RDS" CA bundle) trusts for the run. Without `mariadbd` the endpoint is a closed port: the
 * drill's database check fails with its own message and the rehearsal notes why.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { StageConfigInput } from "@gitpod-dr/core/config";
import type { Context } from "aws-lambda";
import { StateMachine as LocalStateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { catalogConfig } from "../../../core/src/config/catalog.ts";
import { drillJobConfig } from "../../../core/src/config/drill.ts";
import { DRILL_STATES as S } from "../../../core/src/drill/states.ts";
import { handler as drillHandler } from "../../../functions/src/drill.ts";
import { handler as databaseHandler } from "../../../functions/src/drill-database.ts";
import { drillMachineOf } from "../drill/machine.ts";
import { gitpodSchema, type MariaDb, startMariaDb } from "../drill/mariadb.ts";
import { MASTER_USER } from "../drill/rds-commands.ts";
import { lambdaContextFor } from "../lambda.ts";
import { describeStates, type EventLog, lambdaError } from "../restore/machine.ts";
import { ACCOUNT } from "../synth.ts";
import { DEFAULT_DURATIONS, rdsRestoreSeconds } from "./restore-run.ts";
import { functionSurroundings } from "./restore-tasks.ts";
import type { SimWorld } from "./world.ts";

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
const TASK_SECONDS = 2;
/** 127.0.0.1:9 (discard): nothing listens there, so a connection is refused at once. */
const CLOSED_PORT = 9;
const HOUR_MS = 3_600_000;

export interface DrillRun {
  readonly status: "SUCCEEDED" | "FAILED";
  readonly error?: string;
  readonly cause?: string;
  readonly drillId?: string;
  /** Virtual times of the execution. */
  readonly startedAt: Date;
  readonly endedAt: Date;
  /** Task states in the order they ran, with the error of a failed one. */
  readonly steps: readonly { readonly state: string; readonly error?: string }[];
}

/** The region and deployment the drill runs in (stacks/Drill.ts: where it restores). */
export function drillHome(world: SimWorld): { region: string; kind: "primary" | "standby" } {
  return world.config.drill?.target === "primary"
    ? { region: world.config.regions.primary, kind: "primary" }
    : { region: world.config.regions.dr, kind: "standby" };
}

/** The drill of one rehearsal: its machine, its MariaDB (started at the first drill), its runs. */
export class RehearsalDrill {
  /** Why the database checks cannot pass in this rehearsal (no `mariadbd`), once known. */
  note: string | undefined;
  #mariadb: MariaDb | undefined;
  #started = false;

  constructor(
    readonly world: SimWorld,
    readonly input: StageConfigInput,
  ) {}

  async #peer(): Promise<MariaDb | undefined> {
    if (!this.#started) {
      this.#started = true;
      try {
        this.#mariadb = await startMariaDb();
      } catch (error) {
        this.note = `the drill's database checks need a MySQL server: ${(error as Error).message}`;
      }
    }
    return this.#mariadb;
  }

  /** The scratch database's data (restored from the recovery point at `recoveryTime`), on the MariaDB. */
  async #load(db: MariaDb, recoveryTime: Date): Promise<void> {
    const newest = new Date(recoveryTime.getTime() - HOUR_MS);
    await db.sql(
      `DROP DATABASE IF EXISTS gitpod; ${gitpodSchema("gitpod", newest)}
       CREATE TABLE d_b_team (id char(36) NOT NULL PRIMARY KEY); INSERT INTO d_b_team VALUES ('t0');
       CREATE USER IF NOT EXISTS '${MASTER_USER}'@'%' IDENTIFIED BY 'rehearsal-production-password' REQUIRE SSL;
       ALTER USER '${MASTER_USER}'@'%' IDENTIFIED BY 'rehearsal-production-password' REQUIRE SSL;
       GRANT SELECT ON gitpod.* TO '${MASTER_USER}'@'%';`,
    );
  }

  /**
   * One drill execution started at virtual time `at`; `onClock` is told the virtual time as it moves.
   * @throws Error when the execution does not end within `timeoutMs` of real time (a fault of the
   *   simulation, not the drill's verdict).
   */
  async run(at: Date, onClock: (now: Date) => void, timeoutMs = 60_000): Promise<DrillRun> {
    const { world } = this;
    const home = drillHome(world);
    const [definition, mariadb] = await Promise.all([
      drillMachineOf(this.input, { stage: world.stage, ...home }),
      this.#peer(),
    ]);
    // The password the drill sets through ModifyDB* is the scratch database's: the MariaDB applies it.
    if (mariadb) {
      world.account.drillRds.onPassword = async (_db, password) => {
        await mariadb.sql(`ALTER USER '${MASTER_USER}'@'%' IDENTIFIED BY '${password.replace(/'/g, "''")}';`);
      };
    }
    const states = describeStates(definition);
    const clocks = new Map<number | undefined, { time: number; prev?: string }>([[undefined, { time: 0 }]]);
    let current = 0;
    let dbRestoredAt: number | undefined;
    const now = () => new Date(at.getTime() + current * 1000);
    const steps: { state: string; error?: string }[] = [];
    let drillId: string | undefined;

    // A Wait before `state` in its branch passes on the virtual clock (not when reached straight from a task).
    const clockFor = (state: string) => {
      const b = states.get(state)?.branch;
      let clock = clocks.get(b);
      if (!clock) {
        clock = { time: clocks.get(undefined)?.time ?? 0 };
        clocks.set(b, clock);
      }
      if (b === undefined) {
        clock.time = Math.max(...[...clocks.values()].map((c) => c.time));
        for (const key of [...clocks.keys()]) if (key !== undefined) clocks.delete(key);
      }
      const prev = clock.prev;
      if (!(prev && states.get(prev)?.next === state)) {
        for (const info of states.values())
          if (info.type === "Wait" && info.next === state && prev) clock.time += info.seconds ?? 0;
      }
      clock.prev = state;
      return clock;
    };

    const advance = async (state: string, event: Record<string, unknown>) => {
      const drill = event.drill as { drillId?: string; point?: { recoveryTime?: string } } | undefined;
      if (state === S.checkDatabaseRestore && dbRestoredAt !== undefined && drill?.drillId) {
        if (current - dbRestoredAt < rdsRestoreSeconds(DEFAULT_DURATIONS)) return;
        const rds = world.account.rds.region(home.region);
        const id = `gitpod-dr-drill-${drill.drillId}`;
        const kind = rds.database("instance", id) ? "instance" : "cluster";
        const db = rds.database(kind, id);
        if (db?.status !== "creating") return;
        if (mariadb) await this.#load(mariadb, new Date(drill.point?.recoveryTime ?? now()));
        db.endpoint = { address: "127.0.0.1", port: mariadb?.port ?? CLOSED_PORT };
        rds.settle(kind, id, "available");
      }
      const cluster = drillCluster(world);
      if (state === S.checkApplication) cluster?.api.velero.tick();
    };

    const bind = (state: string) => async (raw: unknown) => {
      if (steps.length >= 200) throw new Error("more than 200 drill task invocations: a loop spins");
      const clock = clockFor(state);
      current = clock.time;
      onClock(now());
      const event = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
      const step: { state: string; error?: string } = { state };
      steps.push(step);
      try {
        await advance(state, event);
        tick();
        const fn = state === S.checkDatabase ? "database" : "drill";
        const handler = (fn === "database" ? databaseHandler : drillHandler) as unknown as LambdaHandler;
        const context = lambdaContextFor(`gitpod-dr-${world.stage}-${fn}`, {
          region: home.region,
          account: ACCOUNT,
          remainingMs: 300_000,
        });
        const result = JSON.parse(JSON.stringify((await handler(event, context)) ?? null)) as {
          drillId?: string;
        } | null;
        if (state === S.plan && result?.drillId) drillId = result.drillId;
        return result as never;
      } catch (error) {
        step.error = `${(error as Error).name}: ${(error as Error).message}`;
        throw lambdaError(error);
      } finally {
        clock.time = current + TASK_SECONDS;
        if (state === S.restoreDatabase) dbRestoredAt = clock.time;
      }
    };

    const machine = new LocalStateMachine(definition as StateMachineDefinition, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const config = drillJobConfig(
      world.stage,
      ACCOUNT,
      world.config,
      catalogConfig(world.stage, world.config),
    );
    const name = `scheduled-${at.toISOString().replace(/[-:.]/g, "").slice(0, 13)}`;
    // Bound after the definition is validated: the `finally` below always releases them.
    const { tick, release } = functionSurroundings(world, now, home.region, {
      GITPOD_DR_CONFIG: JSON.stringify(config),
    });
    const trusted = trustForRds(mariadb?.caPem);
    const named = (type: string) => [...states].filter(([, s]) => s.type === type).map(([n]) => n);
    const events: EventLog[] = [];
    let timer: NodeJS.Timeout | undefined;
    let status: DrillRun["status"] = "FAILED";
    try {
      const exec = machine.run(
        {},
        {
          overrides: {
            taskResourceLocalHandlers: Object.fromEntries(named("Task").map((n) => [n, bind(n)])),
            waitTimeOverrides: Object.fromEntries(named("Wait").map((n) => [n, 0])),
            retryIntervalOverrides: Object.fromEntries(
              [...named("Task"), ...named("Parallel")].map((n) => [n, 0]),
            ),
          },
          context: {
            Execution: {
              Id: `arn:aws:states:${home.region}:${ACCOUNT}:execution:gitpod-dr-${world.stage}-drill:${name}`,
              Name: name,
              Input: {},
              StartTime: at.toISOString(),
              RoleArn: `arn:aws:iam::${ACCOUNT}:role/gitpod-dr-${world.stage}-drill`,
            },
          },
        },
      );
      const collecting = (async () => {
        for await (const e of exec.eventLogs) events.push(e as EventLog);
      })();
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([exec.result.then(() => "ok" as const), timeout]).catch(
        () => "failed" as const,
      );
      if (outcome === "timeout") {
        exec.abort();
        throw new Error(`the drill did not end within ${timeoutMs} ms of real time`);
      }
      if (outcome === "ok") status = "SUCCEEDED";
      await Promise.race([collecting.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
    } finally {
      clearTimeout(timer);
      trusted();
      release();
    }
    const failed = events.find((e) => e.type === "ExecutionFailed");
    return {
      status,
      ...(failed ? { error: failed.Error ?? "", cause: String(failed.Cause ?? "") } : {}),
      ...(drillId ? { drillId } : {}),
      startedAt: at,
      endedAt: new Date(at.getTime() + (current + TASK_SECONDS) * 1000),
      steps,
    };
  }

  async stop(): Promise<void> {
    await this.#mariadb?.stop();
  }
}

/** The cluster the drill restores into. */
function drillCluster(world: SimWorld) {
  return world.config.drill?.target === "primary" ? world.primary : world.dr;
}

/**
 * mysql2's "Amazon RDS" TLS profile (what the drill's check connects with) trusts `caPem` — the
 * simulated RDS's CA — until the returned function puts the AWS bundle back. The server's certificate
 * is still verified, against the CA that issued it.
 */
function trustForRds(caPem: string | undefined): () => void {
  if (!caPem) return () => undefined;
  // By its file (the package's `exports` hide it): the module mysql2's connection config loads.
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve("mysql2")), "lib/constants/ssl_profiles.js");
  const profiles = require(file) as Record<string, { ca: unknown }>;
  const saved = profiles["Amazon RDS"];
  profiles["Amazon RDS"] = { ca: caPem };
  return () => {
    if (saved) profiles["Amazon RDS"] = saved;
  };
}
