/**
 * `gitpod-dr restore start|status|list` against Step Functions stubbed with aws-sdk-client-mock that
 * replays the history of executions of the REAL restore machine, run by aws-local-stepfunctions
 * (packages/sim/src/restore/harness.ts): the follower reads that history page by page as it grows, poll
 * after poll, as it would read it from AWS.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXIT_USAGE, main } from "../../packages/cli/src/main.ts";
import { type RestoreDeps, restoreCommand } from "../../packages/cli/src/restore.ts";
import {
  type PublishedMessage,
  RestoreWorld,
  type RunResult,
  runRestore,
  type SynthesizedRestore,
  stageConfig,
  synthesizeRestore,
} from "../../packages/sim/src/restore/harness.ts";
import { executionHistory } from "../../packages/sim/src/restore/history.ts";

const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const ACCOUNT = "210987654321";
const MACHINE = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:gitpod-dr-example-restore`;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const deps = (): RestoreDeps => ({
  clients: new ClientCache(),
  sfn: (region) => new SFNClient({ region }),
  pollMs: 1,
  sleep: async () => undefined,
  now: () => new Date("2026-12-03T10:15:00Z"),
});

/**
 * Step Functions answering for one execution whose history grows by `perPoll` events per poll (a poll is
 * a GetExecutionHistory without nextToken), served in pages of 4 events.
 */
function replay(run: RunResult, history: HistoryEvent[], perPoll = 3) {
  let visible = 0;
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string }) => ({
    executionArn: `${input.stateMachineArn.replace(":stateMachine:", ":execution:")}:${input.name}`,
    startDate: new Date(),
  }));
  sfn.on(GetExecutionHistoryCommand).callsFake(async (input: { nextToken?: string }) => {
    if (input.nextToken === undefined) visible = Math.min(history.length, visible + perPoll);
    const from = Number(input.nextToken ?? 0);
    const to = Math.min(visible, from + 4);
    return { events: history.slice(from, to), ...(to < visible ? { nextToken: String(to) } : {}) };
  });
  sfn.on(DescribeExecutionCommand).callsFake(async () => ({
    status: visible < history.length ? "RUNNING" : run.status,
    startDate: history[0]?.timestamp,
    ...(run.output !== undefined ? { output: JSON.stringify(run.output) } : {}),
    ...(run.error ? { error: run.error, cause: run.cause } : {}),
  }));
}

let machine: SynthesizedRestore;
let dryRun: RunResult;
let rejected: RunResult;
/** What the dry run published to the alerts topic. */
let dryRunMessage: PublishedMessage;

beforeAll(async () => {
  machine = await synthesizeRestore(stageConfig());
  const world = await RestoreWorld.start();
  try {
    dryRun = await runRestore(world, machine.definition, { dryRun: true }, { name: "restore-dry" });
    dryRunMessage = world.published()[0] as PublishedMessage;
  } finally {
    await world.stop();
  }
  // The Validate step refuses a dr target the stage does not configure: the execution fails there.
  const noDr = await RestoreWorld.start({ stage: { noDr: true } });
  try {
    rejected = await runRestore(noDr, machine.definition, { target: "dr" }, { name: "restore-dr" });
  } finally {
    await noDr.stop();
  }
}, 300_000);

afterAll(() => {
  sfn.restore();
  sts.restore();
});

beforeEach(() => {
  sfn.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/oncall` });
});

describe("gitpod-dr restore start --follow", () => {
  it("starts the stage's machine with the console's input and shows each state entered and left, then the result", async () => {
    expect(dryRun.status).toBe("SUCCEEDED");
    replay(dryRun, executionHistory(dryRun));
    const { io, out } = capture();
    const code = await restoreCommand(
      ["start", "--config", "config/example.ts", "--dry-run", "--follow"],
      io,
      deps(),
    );
    expect(code).toBe(0);

    const [start] = sfn.commandCalls(StartExecutionCommand);
    expect(start?.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      name: "restore-20261203-101500",
      input: JSON.stringify({ dryRun: true }),
    });
    const text = out.join("\n");
    // Every state the real execution entered, in order, with its exit and the time since the start.
    const entered = out.filter((l) => / {2}→ /.test(l)).map((l) => l.split("→ ")[1]);
    expect(entered).toEqual(dryRun.entered);
    expect(entered).toEqual(expect.arrayContaining(["Validate input", "Build plan", "Notify plan"]));
    expect(text).toMatch(/^\+0:00:\d\d {2}→ Validate input$/m);
    expect(text).toMatch(/^\+0:00:\d\d {2}← Validate input \(\d+\.\d s\)$/m);
    expect(text).toMatch(/execution SUCCEEDED/);
    expect(out.at(-2)).toBe(
      `Execution arn:aws:states:eu-west-1:${ACCOUNT}:execution:gitpod-dr-example-restore:restore-20261203-101500: SUCCEEDED`,
    );
    // The result: the message the execution published to the topic, rebuilt from its output (the recorded
    // run's stage is "restoresim", the CLI's "example").
    const published = (t: string) => t.replaceAll("restoresim", "example");
    expect(out.at(-1)).toBe(`\n${published(dryRunMessage.subject)}\n\n${published(dryRunMessage.message)}`);
    expect(out.at(-1)).toMatch(/Dry run of restore restore-dry \(stage example\).*Nothing was changed/);
    // The history was read over several polls, in pages.
    expect(sfn.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThan(dryRun.entered.length / 2);
  });

  it("a failed execution: the failing state, its error and cause, exit 1; --json prints one document", async () => {
    expect(rejected.status).toBe("FAILED");
    replay(rejected, executionHistory(rejected), 5);
    const { io, out, err } = capture();
    const code = await restoreCommand(
      [
        "start",
        "--config",
        "config/example.ts",
        "--target",
        "dr",
        "--restore-id",
        "dr-1",
        "--follow",
        "--json",
      ],
      io,
      deps(),
    );
    expect(code).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: `arn:aws:states:eu-central-1:${ACCOUNT}:stateMachine:gitpod-dr-example-restore`,
      name: "dr-1-20261203-101500",
      input: JSON.stringify({ target: "dr", restoreId: "dr-1" }),
    });
    expect(out).toHaveLength(1);
    const doc = JSON.parse(out[0] as string);
    expect(doc).toMatchObject({
      status: "FAILED",
      error: "InvalidInput",
      region: "eu-central-1",
      message: {
        subject: "restore FAILED: InvalidInput",
        message:
          'Validate input: Invalid restore input: target: no "dr" target is configured (restore.targets.dr in the stage configuration)',
      },
    });
    expect(doc.states.find((s: { name: string }) => s.name === "Validate input")?.error).toMatch(
      /^InvalidInput: .*target: no "dr" target is configured/,
    );
    // The live lines went to stderr, so that stdout holds the document only.
    expect(err.join("\n")).toMatch(/✗ Validate input: InvalidInput: /);
  });
});

describe("gitpod-dr restore start: input checked before anything starts", () => {
  it.each([
    [["--tiers", "database,bogus"], "tiers.1: must be one of database, images, application"],
    [
      ["--input", '{"target":"moon","dryRun":"yes"}'],
      'target: must be "primary" or "dr"; dryRun: must be true or false',
    ],
    [["--input", '{"restoreid":"x"}'], "Unrecognized key"],
    [["--input", "[]"], "--input: must be a JSON object"],
    [["--input", "{nope"], "--input: not JSON"],
    [["--restore-id", "no spaces"], "restoreId: must be 1-80 letters"],
  ])("%j exits 2 naming the field; no AWS call", async (flags, message) => {
    const { io, err } = capture();
    expect(await main(["restore", "start", "--config", "config/example.ts", ...flags], io)).toBe(EXIT_USAGE);
    expect(err.join("\n")).toContain(message);
    expect(sfn.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
  });

  it("without --config, or with an unknown subcommand: usage errors", async () => {
    for (const argv of [
      ["restore", "start"],
      ["restore", "begin"],
      ["restore", "status"],
    ]) {
      const { io, err } = capture();
      expect(await main(argv, io)).toBe(EXIT_USAGE);
      expect(err.join("\n")).toMatch(/needs --config FILE|unknown subcommand|needs EXECUTION/);
    }
  });
});

describe("gitpod-dr restore start: Step Functions refuses", () => {
  it.each([
    [
      "StateMachineDoesNotExist",
      /RestoreNotStarted: No state machine arn:aws:states:eu-central-1:210987654321:stateMachine:gitpod-dr-example-restore: deploy the stage's restore there \(npm run deploy -- --stage example --region eu-central-1\)/,
    ],
    [
      "ExecutionAlreadyExists",
      /RestoreNotStarted: An execution named again already exists .*give another --name/,
    ],
  ])("%s: a named error saying what to do, exit 1", async (code, message) => {
    const refusal = Object.assign(new Error("refused"), {
      name: code,
      $metadata: { httpStatusCode: 400 },
      $fault: "client",
    });
    sfn.on(StartExecutionCommand).rejects(refusal);
    const { io, err } = capture();
    const argv = ["restore", "start", "--config", "config/example.ts", "--target", "dr", "--name", "again"];
    expect(await main(argv, io)).toBe(1);
    expect(err.join("\n")).toMatch(message);
  });
});

describe("gitpod-dr restore status and list", () => {
  it("status EXECUTION (a name with --config): every state of the history and the outcome", async () => {
    replay(dryRun, executionHistory(dryRun), 1_000);
    const { io, out } = capture();
    expect(await restoreCommand(["status", "restore-dry", "--config", "config/example.ts"], io, deps())).toBe(
      0,
    );
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: `arn:aws:states:eu-west-1:${ACCOUNT}:execution:gitpod-dr-example-restore:restore-dry`,
    });
    expect(out.filter((l) => l.includes("→ ")).length).toBe(dryRun.entered.length);
    expect(out.at(-2)).toMatch(/: SUCCEEDED$/);
  });

  it("list: the machine's executions, newest first; --json one document", async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:restore-b`,
          stateMachineArn: MACHINE,
          name: "restore-b",
          status: "RUNNING",
          startDate: new Date("2026-12-03T10:00:00Z"),
        },
        {
          executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:restore-a`,
          stateMachineArn: MACHINE,
          name: "restore-a",
          status: "FAILED",
          startDate: new Date("2026-12-02T09:00:00Z"),
          stopDate: new Date("2026-12-02T09:01:30Z"),
        },
      ],
    });
    const text = capture();
    expect(await restoreCommand(["list", "--config", "config/example.ts"], text.io, deps())).toBe(0);
    expect(text.out).toEqual([
      "Executions of gitpod-dr-example-restore in eu-west-1 (newest first):",
      expect.stringMatching(/^ {2}restore-b +RUNNING +2026-12-03T10:00:00.000Z {2}\+0:15:00 so far$/),
      expect.stringMatching(/^ {2}restore-a +FAILED +2026-12-02T09:00:00.000Z {2}\+0:01:30$/),
    ]);
    const json = capture();
    expect(await restoreCommand(["list", "--config", "config/example.ts", "--json"], json.io, deps())).toBe(
      0,
    );
    expect(json.out).toHaveLength(1);
    expect(JSON.parse(json.out[0] as string).executions.map((e: { name: string }) => e.name)).toEqual([
      "restore-b",
      "restore-a",
    ]);
  });
});
