import {
  DescribeClusterCommand,
  type DescribeClusterCommandOutput,
  type EKSClient,
} from "@aws-sdk/client-eks";
import type { AwsCredentialIdentity } from "@smithy/types";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { eksToken } from "./eks-token.ts";
import { VeleroPreflightError } from "./errors.ts";
import type { KubeOps } from "./kube.ts";
import { RestKubeOps } from "./kube-client.ts";
import type { ClusterEndpoint } from "./kube-http.ts";

/**
 * Access to an EKS cluster: `DescribeCluster` for its endpoint and CA, an in-process token signed
 * with the function's credentials (refreshed before EKS stops accepting it, never logged), and the
 * `KubeOps` built on them.
 */

export interface ClusterAccessDeps {
  readonly eks: Pick<EKSClient, "send">;
  /** The function's AWS credentials (the EKS client's own provider). */
  readonly credentials: () => Promise<AwsCredentialIdentity>;
  readonly now?: () => Date;
}

/**
 * @throws VeleroPreflightError when the cluster does not exist or has no endpoint yet (CREATING). An
 *   UPDATING cluster keeps serving its API, so only a missing endpoint stops the job.
 */
export async function describeCluster(eks: ClusterAccessDeps["eks"], name: string): Promise<ClusterEndpoint> {
  let out: DescribeClusterCommandOutput;
  try {
    out = await eks.send(new DescribeClusterCommand({ name }));
  } catch (error) {
    if (awsErrorCode(error) === "ResourceNotFoundException") {
      throw new VeleroPreflightError(
        `EKS cluster ${name} does not exist in this account and region`,
        "cluster",
      );
    }
    throw wrapAwsError(`Unable to describe EKS cluster ${name}`, error);
  }
  const cluster = out.cluster;
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new VeleroPreflightError(
      `EKS cluster ${name} has no endpoint yet (status ${cluster?.status ?? "unknown"}); run again when it is ACTIVE`,
      "cluster",
    );
  }
  return { name, server: cluster.endpoint, caData: cluster.certificateAuthority.data };
}

/** A `KubeOps` for the named EKS cluster in `region`, with its token refreshed as needed. */
export async function connectCluster(
  name: string,
  region: string,
  deps: ClusterAccessDeps,
): Promise<KubeOps> {
  const endpoint = await describeCluster(deps.eks, name);
  const now = deps.now ?? (() => new Date());
  let current: { token: string; refreshAt: Date } | undefined;
  const token = async () => {
    if (!current || now() >= current.refreshAt) {
      current = await eksToken({
        clusterName: name,
        region,
        credentials: await deps.credentials(),
        now: now(),
      });
    }
    return current.token;
  };
  return new RestKubeOps(endpoint, token);
}
