import { parseArgs } from "node:util";
import { paginateListExecutions, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { awsErrorCode, wrapAwsError } from "@gitpod-dr/core/aws/errors";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { GitpodDrError, InvalidInputError } from "@gitpod-dr/core/errors";
import { parseRestoreInput } from "@gitpod-dr/core/restore/input";
import { awsCaller } from "./aws-account.ts";
import { commandHelp } from "./command.ts";
import { restore } from "./commands/restore.ts";
import {
  describeOutcome,
  type ExecutionOutcome,
  elapsed,
  followExecution,
  HistoryReader,
  resultMessage,
  type Sfn,
} from "./restore-follow.ts";
import { loadStageSection } from "./stage.ts";

export interface RestoreDeps {
  readonly clients: ClientCache;
  /** The Step Functions client of a region; tests give a stub. */
  readonly sfn: (region: string) => Sfn;
  readonly pollMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

const defaultDeps = (): RestoreDeps => {
  const clients = new ClientCache();
  return {
    clients,
    sfn: (region) => clients.client(SFNClient, region),
    pollMs: 5_000,
    now: () => new Date(),
  };
};

type Io = { out: (text: string) => void; err: (text: string) => void };

const FLAGS = {
  config: { type: "string" },
  input: { type: "string" },
  target: { type: "string" },
  "dry-run": { type: "boolean" },
  "restore-id": { type: "string" },
  "db-snapshot": { type: "string" },
  "velero-backup": { type: "string" },
  tiers: { type: "string" },
  "target-db-identifier": { type: "string" },
  "allow-partial-restore": { type: "boolean" },
  name: { type: "string" },
  follow: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;
type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>["values"];

/**
 * The execution input from `--input` and the flags (flags win), exactly as the console would be given it.
 * @throws InvalidInputError when --input is not a JSON object.
 */
export function restoreInputFromFlags(values: Values): Record<string, unknown> {
  let base: unknown = {};
  if (values.input !== undefined) {
    try {
      base = JSON.parse(values.input);
    } catch (error) {
      throw new InvalidInputError(`--input: not JSON (${(error as Error).message})`, ["input: not JSON"]);
    }
    if (!base || typeof base !== "object" || Array.isArray(base))
      throw new InvalidInputError("--input: must be a JSON object, e.g. '{}'", [
        "input: must be a JSON object",
      ]);
  }
  const flags: Record<string, unknown> = {
    target: values.target,
    dryRun: values["dry-run"],
    restoreId: values["restore-id"],
    dbSnapshot: values["db-snapshot"],
    veleroBackup: values["velero-backup"],
    tiers: values.tiers?.split(",").map((t) => t.trim()),
    targetDbIdentifier: values["target-db-identifier"],
    allowPartialRestore: values["allow-partial-restore"],
  };
  return {
    ...(base as Record<string, unknown>),
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
  };
}

/** `gitpod-dr-<stage>-restore` in the region of the target (the DR region runs the standby). */
function machine(stage: string, config: StageConfig, target: unknown) {
  const region = target === "dr" ? config.regions.dr : config.regions.primary;
  return { region, name: `gitpod-dr-${stage}-restore` };
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const consoleLink = (arn: string, region: string) =>
  `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`;

async function start(values: Values, io: Io, deps: RestoreDeps): Promise<number> {
  const { stage, config, section } = await loadStageSection(
    values.config,
    "restore start",
    "restore",
    "there is no restore state machine",
    io,
  );
  const input = restoreInputFromFlags(values);
  const restoreId = typeof input.restoreId === "string" ? input.restoreId : undefined;
  const name = values.name ?? `${restoreId ?? "restore"}-${stamp(deps.now())}`;
  // The Validate step's own schema, before anything starts (InvalidInput names each field; exit 2).
  const parsed = parseRestoreInput(input, name);
  if (parsed.target === "dr" && !section.targets.dr)
    throw new InvalidInputError(
      'target: no "dr" target is configured (restore.targets.dr in the stage configuration)',
      ["target: no dr target configured"],
    );
  const m = machine(stage, config, parsed.target);
  const caller = await awsCaller(deps.clients, m.region);
  const stateMachineArn = `arn:${caller.partition}:states:${m.region}:${caller.account}:stateMachine:${m.name}`;
  const sfn = deps.sfn(m.region);
  const executionArn = await startExecution(sfn, { stateMachineArn, name, input, region: m.region, stage });
  const link = consoleLink(executionArn, m.region);
  const report = { executionArn, name, region: m.region, input, console: link };
  const progress = values.json ? io.err : io.out;
  progress(
    `Started ${name} of ${m.name} in ${m.region} (account ${caller.account}) with input ${JSON.stringify(input)}`,
  );
  progress(`  console: ${link}`);
  if (!values.follow) {
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else io.out(`Follow it: gitpod-dr restore status ${executionArn}`);
    return 0;
  }
  const outcome = await followExecution(sfn, executionArn, progress, {
    pollMs: deps.pollMs,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return printOutcome({ ...report, ...outcome }, values.json, io);
}

/** Step Functions refused to start the execution; nothing started. */
export class RestoreNotStartedError extends GitpodDrError {
  override readonly name = "RestoreNotStarted";
}

/**
 * StartExecution, with what to do when Step Functions refuses: the machine is not deployed in that
 * region, or the name was used (names are unique per machine for 90 days).
 * @throws RestoreNotStartedError for those two; a named AWS error (wrapAwsError) for the rest.
 */
async function startExecution(
  sfn: Sfn,
  s: { stateMachineArn: string; name: string; input: unknown; region: string; stage: string },
): Promise<string> {
  try {
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: s.stateMachineArn,
        name: s.name,
        input: JSON.stringify(s.input),
      }),
    );
    return started.executionArn as string;
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "StateMachineDoesNotExist")
      throw new RestoreNotStartedError(
        `No state machine ${s.stateMachineArn}: deploy the stage's restore there (npm run deploy -- --stage ${s.stage} --region ${s.region}), or check the account`,
        { cause: error },
      );
    if (code === "ExecutionAlreadyExists")
      throw new RestoreNotStartedError(
        `An execution named ${s.name} already exists with other input or has ended: give another --name (to resume, keep the same --restore-id)`,
        { cause: error },
      );
    throw wrapAwsError(`Unable to start ${s.name} of ${s.stateMachineArn}`, error);
  }
}

/** The stage of an execution of `gitpod-dr-<stage>-restore`, from its ARN. */
const stageOf = (executionArn: string) => /:execution:gitpod-dr-(.+)-restore:/.exec(executionArn)?.[1] ?? "?";

function printOutcome(outcome: ExecutionOutcome & Record<string, unknown>, json: boolean, io: Io): number {
  const ok = outcome.status === "SUCCEEDED" || outcome.status === "RUNNING";
  const message = resultMessage(outcome, stageOf(outcome.executionArn));
  if (json) io.out(JSON.stringify({ ...outcome, ...(message ? { message } : {}) }, null, 2));
  else {
    io.out(`Execution ${outcome.executionArn}: ${outcome.status}`);
    if (message) io.out(`\n${message.subject}\n\n${message.message}`);
    else if (outcome.output !== undefined) io.out(`  result: ${JSON.stringify(outcome.output)}`);
  }
  return ok ? 0 : 1;
}

async function executionArnOf(execution: string, values: Values, io: Io, deps: RestoreDeps) {
  if (execution.startsWith("arn:"))
    return { executionArn: execution, region: execution.split(":")[3] as string };
  if (!values.config)
    throw new InvalidInputError(
      "restore status: give the execution's ARN, or its name with --config FILE",
      [],
    );
  const { stage, config } = await loadStageSection(
    values.config,
    "restore status",
    "restore",
    "there is no restore state machine",
    io,
  );
  const m = machine(stage, config, values.target);
  const caller = await awsCaller(deps.clients, m.region);
  return {
    executionArn: `arn:${caller.partition}:states:${m.region}:${caller.account}:execution:${m.name}:${execution}`,
    region: m.region,
  };
}

async function status(
  execution: string | undefined,
  values: Values,
  io: Io,
  deps: RestoreDeps,
): Promise<number> {
  if (!execution)
    throw new InvalidInputError(
      "restore status needs EXECUTION (an execution ARN, or a name with --config FILE)",
      [],
    );
  const { executionArn, region } = await executionArnOf(execution, values, io, deps);
  const sfn = deps.sfn(region);
  const lines: string[] = [];
  const reader = new HistoryReader(executionArn, (line) => lines.push(line));
  await reader.read(sfn);
  const outcome = await describeOutcome(sfn, executionArn, reader);
  if (!values.json) for (const line of lines) io.out(line);
  return printOutcome({ ...outcome, console: consoleLink(executionArn, region) }, values.json, io);
}

async function list(values: Values, io: Io, deps: RestoreDeps): Promise<number> {
  const { stage, config } = await loadStageSection(
    values.config,
    "restore list",
    "restore",
    "there is no restore state machine",
    io,
  );
  const m = machine(stage, config, values.target);
  const caller = await awsCaller(deps.clients, m.region);
  const stateMachineArn = `arn:${caller.partition}:states:${m.region}:${caller.account}:stateMachine:${m.name}`;
  const executions = [];
  for await (const page of paginateListExecutions(
    { client: deps.sfn(m.region) as SFNClient },
    { stateMachineArn, maxResults: 50 },
  )) {
    executions.push(...(page.executions ?? []));
    if (executions.length >= 50) break;
  }
  const now = deps.now().getTime();
  const rows = executions.map((e) => ({
    name: e.name,
    status: e.status,
    startDate: e.startDate ? new Date(e.startDate).toISOString() : undefined,
    stopDate: e.stopDate ? new Date(e.stopDate).toISOString() : undefined,
    executionArn: e.executionArn,
  }));
  if (values.json) io.out(JSON.stringify({ stateMachineArn, executions: rows }, null, 2));
  else if (rows.length === 0) io.out(`No executions of ${m.name} in ${m.region}`);
  else {
    io.out(`Executions of ${m.name} in ${m.region} (newest first):`);
    for (const r of rows) {
      const start = r.startDate ? new Date(r.startDate).getTime() : now;
      const took = ((r.stopDate ? new Date(r.stopDate).getTime() : now) - start) / 1000;
      io.out(
        `  ${(r.name ?? "").padEnd(40)} ${(r.status ?? "").padEnd(10)} ${r.startDate ?? ""}  ${elapsed(took)}${r.stopDate ? "" : " so far"}`,
      );
    }
  }
  return 0;
}

/** `gitpod-dr restore start|status|list …`. */
export async function restoreCommand(
  args: string[],
  io: Io,
  deps: RestoreDeps = defaultDeps(),
): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: FLAGS });
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    io.out(commandHelp(restore));
    return values.help ? 0 : 2;
  }
  if (sub === "start" && rest.length === 0) return start(values, io, deps);
  if (sub === "status" && rest.length <= 1) return status(rest[0], values, io, deps);
  if (sub === "list" && rest.length === 0) return list(values, io, deps);
  throw new InvalidInputError(
    `restore: unknown subcommand or extra argument "${positionals.join(" ")}" (start, status EXECUTION, list)`,
    [],
  );
}
