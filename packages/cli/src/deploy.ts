import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { CloudFormationClient, paginateDescribeStacks, type Stack } from "@aws-sdk/client-cloudformation";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { drillClusterNotes } from "@gitpod-dr/core/config/drill";
import { ConfigError, InvalidInputError } from "@gitpod-dr/core/errors";
import { commandHelp } from "./command.ts";
import { deploy } from "./commands/deploy.ts";
import { DeployRefusedError, type DeployTarget, deployPreflight } from "./deploy-preflight.ts";

/** Runs `sst deploy` with these arguments in the foreground; resolves to its exit code. Tests give their own. */
export type HandOver = (args: readonly string[]) => Promise<number>;

/** The project's own `sst` (node_modules/sst/cli/sst.js), run with this Node, its output on this terminal. */
export const runSstDeploy: HandOver = (args) =>
  new Promise((resolve, reject) => {
    const sst = createRequire(import.meta.url).resolve("sst/cli/sst.js");
    const child = spawn(process.execPath, [sst, "deploy", ...args], { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

export interface DeployDeps {
  readonly clients: ClientCache;
  readonly handOver: HandOver;
  /** The project root (where sst.config.ts and config/ are). */
  readonly root: string;
}

const COMPLETE = /_COMPLETE$/;
const FAILED = /(FAILED|ROLLBACK)/;

/** The stage's stacks in the region after the deploy: `<stage>-gitpod-dr-<Name>`, with their outputs. */
async function deployedStacks(target: DeployTarget, clients: ClientCache): Promise<Stack[]> {
  const prefix = `${target.stage}-gitpod-dr-`;
  const found: Stack[] = [];
  const cfn = clients.client(CloudFormationClient, target.region);
  for await (const page of paginateDescribeStacks({ client: cfn }, {})) {
    for (const s of page.Stacks ?? []) if (s.StackName?.startsWith(prefix)) found.push(s);
  }
  return found;
}

const shownOutputs = (s: Stack) =>
  (s.Outputs ?? []).filter((o) => o.OutputKey !== "SSTMetadata" && !o.OutputKey?.startsWith("ExportsOutput"));

/** `gitpod-dr deploy --stage NAME [--region R] [--account ID] [--json]` (`npm run deploy -- --stage NAME`). */
export async function deployCommand(
  args: string[],
  io: { out: (text: string) => void; err: (text: string) => void },
  deps: DeployDeps = { clients: new ClientCache(), handOver: runSstDeploy, root: process.cwd() },
): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      stage: { type: "string" },
      region: { type: "string" },
      account: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    io.out(commandHelp(deploy));
    return 0;
  }
  if (!values.stage)
    throw new InvalidInputError("deploy needs --stage NAME (npm run deploy -- --stage prod)");
  if (values.account !== undefined && !/^\d{12}$/.test(values.account))
    throw new InvalidInputError(`--account: must be a 12-digit AWS account ID (got "${values.account}")`);
  let target: DeployTarget;
  try {
    target = await deployPreflight(
      {
        stage: values.stage,
        root: deps.root,
        ...(values.region ? { region: values.region } : {}),
        ...(values.account ? { expectedAccount: values.account } : {}),
      },
      deps.clients,
    );
  } catch (error) {
    // A missing or invalid stage file, and every refusal: nothing was deployed.
    if (!(error instanceof DeployRefusedError || error instanceof ConfigError)) throw error;
    if (values.json)
      io.out(
        JSON.stringify({ deployed: false, error: { name: error.name, message: error.message } }, null, 2),
      );
    io.err(`gitpod-dr deploy: ${error.name}: ${error.message}`);
    return 2;
  }
  const what = target.kind === "primary" ? "every stack" : "the restore's standby";
  io.err(
    `Deploying stage ${target.stage} (${target.file}) to account ${target.account} (${target.identity}), ${target.region}: ${what}. CDK bootstrap version ${target.bootstrap.version} (${target.bootstrap.from}). Handing over to sst deploy.`,
  );
  for (const note of drillClusterNotes(target.config.drill)) io.err(`note: ${note}`);
  const code = await deps.handOver(["--stage", target.stage, "--region", target.region]);
  const stacks = await deployedStacks(target, deps.clients);
  const broken = stacks.filter(
    (s) => !COMPLETE.test(s.StackStatus ?? "") || FAILED.test(s.StackStatus ?? ""),
  );
  const problem =
    code !== 0
      ? `sst deploy exited with ${code}`
      : stacks.length === 0
        ? `sst deploy exited 0 but no stack ${target.stage}-gitpod-dr-* is in account ${target.account} ${target.region}`
        : broken.length > 0
          ? `not deployed cleanly: ${broken.map((s) => `${s.StackName} ${s.StackStatus}${s.StackStatusReason ? ` (${s.StackStatusReason})` : ""}`).join("; ")}`
          : undefined;
  const report = {
    deployed: problem === undefined,
    stage: target.stage,
    account: target.account,
    region: target.region,
    kind: target.kind,
    stacks: stacks.map((s) => ({
      name: s.StackName,
      status: s.StackStatus,
      outputs: Object.fromEntries(shownOutputs(s).map((o) => [o.OutputKey, o.OutputValue])),
    })),
    ...(problem ? { error: { name: "DeployFailed", message: problem } } : {}),
  };
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else {
    io.out(`Stage ${target.stage} in account ${target.account}, ${target.region} (${what}):`);
    for (const s of stacks) {
      io.out(`  ${s.StackName}: ${s.StackStatus}`);
      for (const o of shownOutputs(s))
        io.out(`    ${o.OutputKey}: ${o.OutputValue}${o.Description ? `  (${o.Description})` : ""}`);
    }
  }
  if (problem) {
    io.err(`gitpod-dr deploy failed: DeployFailed: ${problem}`);
    return 1;
  }
  return 0;
}
