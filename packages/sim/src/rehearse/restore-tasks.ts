/**
 * The restore state machine's task functions for a rehearsal: the real Lambda handlers
 * (packages/functions/src/restore-*.ts, middy chain and all), invoked as Lambda invokes them (JSON in,
 * JSON out, a Lambda context) while the rehearsal holds, for its run, what a deployed function would
 * have: the stack's environment (GITPOD_DR_CONFIG, GITPOD_DR_TOPIC_ARN, GITPOD_DR_STAGE, AWS_REGION),
 * the simulated account's clients (swapped into the handlers' client cache), the virtual clock (`Date`
 * faked, never timers, set to virtual time before each invocation) and a `fetch` that reaches only
 * 127.0.0.1. Everything is put back by `release()`.
 */
import { Console } from "node:console";
import { Writable } from "node:stream";
import FakeTimers from "@sinonjs/fake-timers";
import type { Context } from "aws-lambda";
import { catalogConfig } from "../../../core/src/config/catalog.ts";
import { type RestoreJobConfig, restoreJobConfig } from "../../../core/src/config/restore.ts";
import { useClientCache } from "../../../functions/src/lib/cache.ts";
import { reloadEnv } from "../../../functions/src/lib/env.ts";
import { logger } from "../../../functions/src/lib/logger.ts";
import { handler as application } from "../../../functions/src/restore-application.ts";
import { handler as database } from "../../../functions/src/restore-database.ts";
import { handler as image } from "../../../functions/src/restore-image.ts";
import { handler as notify } from "../../../functions/src/restore-notify.ts";
import { handler as plan } from "../../../functions/src/restore-plan.ts";
import { lambdaContextFor } from "../lambda.ts";
import type { RestoreFunction } from "../restore/machine.ts";
import { ACCOUNT } from "../synth.ts";
import { topicArn } from "./jobs.ts";
import type { SimWorld } from "./world.ts";

export type RestoreTask = (event: unknown) => Promise<unknown>;

/** The task functions of one restore run and what gives the process back its own state afterwards. */
export interface RestoreTasks {
  readonly tasks: Record<RestoreFunction, RestoreTask>;
  /** Puts back the environment, client cache, `fetch`, `Date` and the log output (idempotent). */
  readonly release: () => void;
}

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;
const HANDLERS: Record<RestoreFunction, LambdaHandler> = {
  plan,
  database,
  image,
  application,
  notify,
} as Record<RestoreFunction, LambdaHandler>;

/**
 * `fetch` of the simulation: 127.0.0.1 only (through `base`, the real one); the application's health URL
 * (restore.application.healthUrl) answered as the restored Gitpod does once it runs (the simulated
 * cluster has no Gitpod server to ask).
 */
export function localFetch(
  healthUrl: string | undefined,
  base: typeof fetch = globalThis.fetch,
): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (healthUrl && url.href === new URL(healthUrl).href) {
      return new Response('{"version":"rehearsal"}', {
        status: 200,
        headers: { "Content-Type": "application/json" },
      });
    }
    if (url.hostname !== "127.0.0.1")
      throw new TypeError(`the simulation reaches only 127.0.0.1, not ${url.host}`);
    return base(input, init);
  };
}

/** The restore functions' configuration, as stacks/Restore.ts derives it. */
export function restoreConfigOf(world: SimWorld): RestoreJobConfig {
  return restoreJobConfig(world.stage, ACCOUNT, world.config, catalogConfig(world.stage, world.config));
}

/** Sets `values` in process.env; returns what puts the previous values back. */
function setEnvironment(values: Record<string, string>): () => void {
  const saved = Object.entries(values).map(([name]) => [name, process.env[name]] as const);
  Object.assign(process.env, values);
  reloadEnv();
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    reloadEnv();
  };
}

/** A deployed function's surroundings, installed for one run (`functionSurroundings`). */
export interface Surroundings {
  /** Sets the faked `Date` to `now()` (before each invocation). */
  readonly tick: () => void;
  /** Puts back the environment, client cache, `fetch`, `Date` and the log output (idempotent). */
  readonly release: () => void;
}

/**
 * Installs what a deployed function of the stage has, for one run of a machine in `home`: the stack's
 * environment `env` (plus GITPOD_DR_STAGE, GITPOD_DR_TOPIC_ARN and AWS_REGION), the account's client
 * cache, `fetch` kept to 127.0.0.1 (`healthUrl` answered), the handlers' log output silenced and `Date`
 * faked to the virtual clock `now`. Call `release()` when the run has ended.
 */
export function functionSurroundings(
  world: SimWorld,
  now: () => Date,
  home: string,
  env: Record<string, string>,
  healthUrl?: string,
): Surroundings {
  // What stacks/constructs/JobFunction.ts gives every function, and the region Lambda sets.
  const restoreEnv = setEnvironment({
    GITPOD_DR_STAGE: world.stage,
    GITPOD_DR_TOPIC_ARN: topicArn(world, home),
    AWS_REGION: home,
    ...env,
  });
  // The account's cache is the run's own: the handlers' parsed configuration lives and dies with it.
  const restoreCache = useClientCache(world.account.cache);
  const realFetch = globalThis.fetch;
  globalThis.fetch = localFetch(healthUrl, realFetch);
  // The handlers' CloudWatch log lines would interleave with the rehearsal's own output (and break
  // --json). Their level cannot be lowered for the run: the middleware resets it on every invocation, so
  // the logger's console (a runtime property, private in its types) writes nowhere until release.
  const sink = logger as unknown as { console: Console };
  const logConsole = sink.console;
  sink.console = new Console(new Writable({ write: (_chunk, _encoding, done) => done() }));
  const clock = FakeTimers.withGlobal(globalThis).install({ toFake: ["Date"], now: now() });
  let released = false;
  return {
    tick: () => clock.setSystemTime(now()),
    release: () => {
      if (released) return;
      released = true;
      clock.uninstall();
      sink.console = logConsole;
      globalThis.fetch = realFetch;
      restoreCache();
      restoreEnv();
    },
  };
}

/**
 * Installs the deployed functions' surroundings for one restore run in `home` (where the machine runs)
 * and returns the five task functions, each invoking its real handler at the virtual time `now()`.
 * Call `release()` when the run has ended.
 */
export function restoreTasks(world: SimWorld, now: () => Date, home: string): RestoreTasks {
  const config = restoreConfigOf(world);
  const { tick, release } = functionSurroundings(
    world,
    now,
    home,
    { GITPOD_DR_CONFIG: JSON.stringify(config) },
    config.restore.application.healthUrl,
  );
  const tasks = Object.fromEntries(
    Object.entries(HANDLERS).map(([name, handler]) => [
      name,
      async (event: unknown) => {
        tick();
        const context = lambdaContextFor(`gitpod-dr-${world.stage}-restore-${name}`, {
          region: home,
          account: ACCOUNT,
          remainingMs: 120_000,
        });
        return handler(event, context);
      },
    ]),
  ) as Record<RestoreFunction, RestoreTask>;
  return { tasks, release };
}
