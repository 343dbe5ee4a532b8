/**
 * The EKS side of the Velero test cluster (test code only): the test credentials and users, and
 * `eksAuthenticator` — what EKS does with a bearer token, for the simulator's `authenticate`. It decodes
 *   the `k8s-aws-v1.` token (base64url of a presigned STS GetCallerIdentity URL), checks its parameters
 *   and VERIFIES its SigV4 signature independently (node:crypto, not the signer the code under test uses),
 *   including that the signed `x-k8s-aws-id` header names this cluster, and maps the signer to an IAM role
 *   session user in group `gitpod-dr` (as an EKS access entry with kubernetesGroups [gitpod-dr] does).
 *   Every token it sees is recorded.
 * - `connectViaEks`: `connectCluster` with an `EKSClient` instance mocked by aws-sdk-client-mock whose
 *   DescribeCluster answers with the simulator's URL and CA.
 */
import { createHash, createHmac } from "node:crypto";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { connectCluster } from "../../../core/src/velero/cluster.ts";
import type { KubeOps } from "../../../core/src/velero/kube.ts";
import type { KubeApi, KubeUser } from "./server.ts";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const CLUSTER = "gitpod";
/** The user EKS maps the function's role session to. */
export const FUNCTION_USER: KubeUser = {
  name: `arn:aws:sts::${ACCOUNT}:assumed-role/gitpod-dr/fn`,
  groups: ["gitpod-dr", "system:authenticated"],
};

/** The user a restore function's role session maps to (deploy/rbac-restore.yaml's group). */
export const RESTORE_USER: KubeUser = {
  name: `arn:aws:sts::${ACCOUNT}:assumed-role/gitpod-dr-restore/fn`,
  groups: ["gitpod-dr-restore", "system:authenticated"],
};

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The function's role session credentials (test values). */
export const CREDENTIALS: TestCredentials = {
  accessKeyId: "ASIAGITPODDRTEST0001",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+gitpodDrTestSecret1",
  sessionToken: "IQoJb3JpZ2luX2VjEGitpodDrTestSessionTokenValue",
};

// ---------------------------------------------------------------------------------------------------
// EKS token authentication
// ---------------------------------------------------------------------------------------------------

export interface EksAuthenticator {
  /** For `startKubeApi({ authenticate })`. */
  authenticate: (token: string) => KubeUser | undefined;
  /** Every bearer token presented, in order (accepted or not). */
  readonly tokens: string[];
  /** Why tokens were rejected, in order. */
  readonly rejections: string[];
}

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
const EMPTY_SHA256 = sha256Hex("");

/** Parses `20261126T020005Z`. */
function amzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/** The query parameters aws-iam-authenticator's verifier allows (lower case), and no other. */
const VERIFIER_PARAMETERS = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

/**
 * Verifies an EKS token. Returns the reason it is not valid, or undefined when it is.
 * `clock`: when given, a token signed more than 15 minutes before it (or in its future) is expired.
 */
export function verifyEksToken(
  token: string,
  expect: { cluster: string; region: string; credentials: TestCredentials; clock?: () => Date },
): string | undefined {
  const PREFIX = "k8s-aws-v1.";
  if (!token.startsWith(PREFIX)) return "not an EKS token";
  const body = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return "not base64url without padding";
  let url: URL;
  try {
    url = new URL(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return "not a URL";
  }
  const host = `sts.${expect.region}.amazonaws.com`;
  if (url.protocol !== "https:" || url.host !== host || url.pathname !== "/") return `not ${host}`;
  const q = url.searchParams;
  // What aws-iam-authenticator's verifier (pkg/token/token.go, Verify) refuses before it asks STS:
  // a token over 4 KiB, a parameter outside its list, one given more than once.
  if (token.length > 4096) return "token is too large";
  for (const key of new Set(q.keys())) {
    if (!VERIFIER_PARAMETERS.has(key.toLowerCase())) return `query parameter ${key} is not allowed`;
    if (q.getAll(key).length !== 1) return `query parameter ${key} is given more than once`;
  }
  if (q.get("Action") !== "GetCallerIdentity") return "Action is not GetCallerIdentity";
  if (q.get("Version") !== "2011-06-15") return "wrong Version";
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") return "wrong algorithm";
  if (q.get("X-Amz-Expires") !== "60") return `X-Amz-Expires is ${q.get("X-Amz-Expires")}, not 60`;
  const signedHeaders = (q.get("X-Amz-SignedHeaders") ?? "").split(";");
  if (!signedHeaders.includes("x-k8s-aws-id")) return "x-k8s-aws-id is not signed";
  if (signedHeaders.join(";") !== "host;x-k8s-aws-id") return `unexpected signed headers ${signedHeaders}`;
  const credential = q.get("X-Amz-Credential") ?? "";
  if (!credential.startsWith(`${expect.credentials.accessKeyId}/`)) return "unknown access key";
  const [, day, region, service, terminator] = credential.split("/");
  if (region !== expect.region || service !== "sts" || terminator !== "aws4_request") return "bad scope";
  const dateText = q.get("X-Amz-Date") ?? "";
  const signedAt = amzDate(dateText);
  if (!signedAt || dateText.slice(0, 8) !== day) return "bad X-Amz-Date";
  if (expect.credentials.sessionToken && q.get("X-Amz-Security-Token") !== expect.credentials.sessionToken) {
    return "wrong session token";
  }
  if (expect.clock) {
    const age = expect.clock().getTime() - signedAt.getTime();
    if (age > 15 * 60_000 || age < -5 * 60_000) return `token expired (signed ${dateText})`;
  }
  // SigV4, computed here from the specification.
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    "GET",
    "/",
    canonicalQuery,
    `host:${host}\nx-k8s-aws-id:${expect.cluster}\n`,
    "host;x-k8s-aws-id",
    EMPTY_SHA256,
  ].join("\n");
  const scope = `${day}/${region}/sts/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", dateText, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${expect.credentials.secretAccessKey}`, day as string), region), "sts"),
    "aws4_request",
  );
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  if (q.get("X-Amz-Signature") !== signature) return "signature does not match";
  return undefined;
}

/** What EKS does with bearer tokens, for one cluster and one IAM principal mapped to `user`. */
export function eksAuthenticator(
  options: {
    cluster?: string;
    region?: string;
    credentials?: TestCredentials;
    user?: KubeUser;
    clock?: () => Date;
  } = {},
): EksAuthenticator {
  const tokens: string[] = [];
  const rejections: string[] = [];
  const expect = {
    cluster: options.cluster ?? CLUSTER,
    region: options.region ?? REGION,
    credentials: options.credentials ?? CREDENTIALS,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  return {
    tokens,
    rejections,
    authenticate: (token) => {
      tokens.push(token);
      const reason = verifyEksToken(token, expect);
      if (reason) {
        rejections.push(reason);
        return undefined;
      }
      return options.user ?? FUNCTION_USER;
    },
  };
}

/** `connectCluster` with a mocked EKS DescribeCluster answering with the simulator's endpoint and CA. */
export async function connectViaEks(
  api: KubeApi,
  options: { now?: () => Date; credentials?: TestCredentials } = {},
): Promise<{ kube: KubeOps; eks: AwsClientStub<EKSClient> }> {
  const client = new EKSClient({ region: REGION });
  const eks = mockClient(client);
  eks.on(DescribeClusterCommand, { name: CLUSTER }).resolves({
    cluster: {
      name: CLUSTER,
      endpoint: api.url,
      certificateAuthority: { data: api.caData },
      status: "ACTIVE",
    },
  });
  const credentials = options.credentials ?? CREDENTIALS;
  const kube = await connectCluster(CLUSTER, REGION, {
    eks: client,
    credentials: async () => ({ ...credentials }),
    ...(options.now ? { now: options.now } : {}),
  });
  return { kube, eks };
}
