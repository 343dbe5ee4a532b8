import { relative } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { ClientCache } from "@gitpod-dr/core/aws/cache";
import { awsErrorCode } from "@gitpod-dr/core/aws/errors";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { loadStageConfigFile, stageConfigPath } from "@gitpod-dr/core/config-file";
import { GitpodDrError } from "@gitpod-dr/core/errors";
import { deploymentKind } from "../../../stacks/index.ts";
import { type AwsCaller, awsCaller } from "./aws-account.ts";
import { AwsCredentialsError } from "./errors.ts";

/**
 * The deploy refused before handing over to `sst deploy`: no credentials, another account than asked
 * for, no CDK bootstrap in the region. Nothing was deployed (exit 2).
 */
export class DeployRefusedError extends GitpodDrError {
  override readonly name = "DeployRefused";
}

/** What the preflight found; `sst deploy` is handed this stage, region and account. */
export interface DeployTarget {
  readonly stage: string;
  /** The stage file, relative to the project root. */
  readonly file: string;
  readonly config: StageConfig;
  readonly region: string;
  readonly kind: "primary" | "standby";
  readonly account: string;
  readonly identity: string;
  /** The CDK bootstrap version in the region, and where it was read. */
  readonly bootstrap: { readonly version: number; readonly from: string };
}

/** The oldest bootstrap stack aws-cdk-lib 2.224's templates accept (their CheckBootstrapVersion rule). */
export const MIN_BOOTSTRAP_VERSION = 6;
const BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version";

/**
 * The CDK bootstrap version in the region: the SSM parameter the bootstrap stack writes, or else the
 * CDKToolkit stack's BootstrapVersion output (a role that may not read the parameter).
 */
async function bootstrapVersion(clients: ClientCache, region: string, account: string) {
  const bootstrapHint = `Bootstrap the region once: npx cdk bootstrap aws://${account}/${region}`;
  let parameterError: string;
  try {
    const answer = await clients
      .client(SSMClient, region)
      .send(new GetParameterCommand({ Name: BOOTSTRAP_PARAMETER }));
    return { version: Number(answer.Parameter?.Value), from: `SSM parameter ${BOOTSTRAP_PARAMETER}` };
  } catch (error) {
    parameterError = awsErrorCode(error) ?? (error as Error).name;
  }
  try {
    const answer = await clients
      .client(CloudFormationClient, region)
      .send(new DescribeStacksCommand({ StackName: "CDKToolkit" }));
    const output = answer.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === "BootstrapVersion");
    return { version: Number(output?.OutputValue), from: "stack CDKToolkit" };
  } catch (error) {
    const code = awsErrorCode(error) ?? (error as Error).name;
    if (parameterError === "ParameterNotFound" && code === "ValidationError") {
      throw new DeployRefusedError(
        `Not deploying: account ${account} has no CDK bootstrap in ${region} (no SSM parameter ${BOOTSTRAP_PARAMETER}, no stack CDKToolkit). ${bootstrapHint}`,
      );
    }
    throw new DeployRefusedError(
      `Not deploying: the CDK bootstrap in ${region} could not be checked (SSM GetParameter ${BOOTSTRAP_PARAMETER}: ${parameterError}; CloudFormation DescribeStacks CDKToolkit: ${code}). Use credentials that may read either, or ${bootstrapHint.toLowerCase()}`,
      { cause: error },
    );
  }
}

/**
 * Everything `sst deploy` would find out late or not at all, checked before it starts: the stage file
 * exists and is valid, the region is the stage's primary region (or its DR region for the restore's
 * standby), there are credentials (which account they act in, and that it is `expectedAccount` when
 * given), and the region is CDK-bootstrapped (version ≥ {@link MIN_BOOTSTRAP_VERSION}).
 * @throws ConfigError for a missing or invalid stage file (its path and the field's message).
 * @throws DeployRefusedError for the rest, saying what to do; nothing was deployed.
 */
export async function deployPreflight(
  request: {
    readonly stage: string;
    readonly region?: string;
    readonly expectedAccount?: string;
    readonly root: string;
  },
  clients: ClientCache,
): Promise<DeployTarget> {
  // Relative to where the command runs, as the person reads it: "No stage configuration at config/prod.ts".
  const file = relative(process.cwd(), stageConfigPath(request.root, request.stage));
  const { config } = await loadStageConfigFile(file);
  const region = request.region ?? config.regions.primary;
  let kind: "primary" | "standby";
  try {
    kind = deploymentKind(region, config, request.stage);
  } catch (error) {
    throw new DeployRefusedError(`Not deploying: ${(error as Error).message}`);
  }
  let identity: AwsCaller;
  try {
    identity = await awsCaller(clients, region);
  } catch (error) {
    if (!(error instanceof AwsCredentialsError)) throw error;
    throw new DeployRefusedError(`Not deploying: ${error.message}`, { cause: error });
  }
  if (request.expectedAccount && identity.account !== request.expectedAccount) {
    throw new DeployRefusedError(
      `Not deploying: the credentials are for account ${identity.account} (${identity.arn}), not ${request.expectedAccount} (--account). Use the credentials of ${request.expectedAccount}`,
    );
  }
  const bootstrap = await bootstrapVersion(clients, region, identity.account);
  if (!(bootstrap.version >= MIN_BOOTSTRAP_VERSION)) {
    throw new DeployRefusedError(
      `Not deploying: the CDK bootstrap in ${region} is version ${Number.isNaN(bootstrap.version) ? "unknown" : bootstrap.version} (${bootstrap.from}); version ${MIN_BOOTSTRAP_VERSION} or later is needed. Update it: npx cdk bootstrap aws://${identity.account}/${region}`,
    );
  }
  return {
    stage: request.stage,
    file,
    config,
    region,
    kind,
    account: identity.account,
    identity: identity.arn,
    bootstrap,
  };
}
