import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";
import { rememberSecret } from "../notify/secrets.ts";

/**
 * The bearer token EKS accepts: `k8s-aws-v1.` + base64url (no padding) of a presigned STS
 * `GetCallerIdentity` URL whose signature covers the header `x-k8s-aws-id: <cluster>` — what
 * `aws eks get-token` and aws-iam-authenticator produce, built in process.
 */

export const TOKEN_PREFIX = "k8s-aws-v1.";
/** EKS accepts a token for 15 minutes from its signing time; we use one for at most 10. */
export const TOKEN_USE_MS = 10 * 60_000;

export interface EksToken {
  readonly token: string;
  /** When the token should be replaced (before EKS stops accepting it). */
  readonly refreshAt: Date;
}

/** The STS endpoint host of a region (aws-cn and the others by suffix). */
export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

export async function eksToken(input: {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity;
  readonly now?: Date;
}): Promise<EksToken> {
  const signer = new SignatureV4({
    service: "sts",
    region: input.region,
    credentials: input.credentials,
    sha256: Hash.bind(null, "sha256"),
  });
  const hostname = stsHost(input.region);
  const signingDate = input.now ?? new Date();
  const signed = await signer.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname,
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: hostname, "x-k8s-aws-id": input.clusterName },
    },
    { expiresIn: 60, signingDate },
  );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([key, value]) =>
      (Array.isArray(value) ? value : [value]).map(
        (v) => `${encodeURIComponent(key)}=${encodeURIComponent(String(v ?? ""))}`,
      ),
    )
    .join("&");
  const url = `https://${hostname}/?${query}`;
  const token = TOKEN_PREFIX + Buffer.from(url).toString("base64url");
  // The token, and the presigned URL inside it (its signature is the secret part).
  rememberSecret(token);
  rememberSecret(url);
  return {
    token,
    refreshAt: new Date(signingDate.getTime() + TOKEN_USE_MS),
  };
}
