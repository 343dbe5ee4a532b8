import * as z from "zod";
import { parseRegistryHost } from "../registry/reference.ts";
import { scheduleExpressionProblem } from "../schedule.ts";
import { AWS_PARTITIONS } from "./aws-regions.ts";

/** The field schemas every tier's configuration shares: AWS names and ARNs, Kubernetes names. */

// The regions and region patterns of the AWS SDK's partition data (a generated copy: aws-regions.ts).
const KNOWN_REGIONS = new Set(AWS_PARTITIONS.flatMap((p) => p.regions));
const PATTERNS = AWS_PARTITIONS.map((p) => new RegExp(p.regionRegex));
// A new region's name: a partition's pattern, with a compass word before the number (mx-central-7).
const COMPASS = /-(east|west|north|south|central|northeast|northwest|southeast|southwest)-\d+$/;

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    row = next;
  }
  return row[b.length] as number;
}

/**
 * Why `region` cannot be an AWS region, or undefined when it is one the SDK knows or a well-formed new
 * one (a partition's prefix, a compass word, a number: `mx-central-7`). A typo such as `eu-wset-1` is
 * refused, with the nearest known region.
 */
export function regionProblem(region: string): string | undefined {
  if (KNOWN_REGIONS.has(region)) return undefined;
  if (COMPASS.test(region) && PATTERNS.some((p) => p.test(region))) return undefined;
  const nearest = [...KNOWN_REGIONS]
    .map((r) => ({ r, d: editDistance(region, r) }))
    .sort((x, y) => x.d - y.d)[0];
  return nearest && nearest.d <= 3
    ? `must be an AWS region name: "${region}" is not one (did you mean ${nearest.r}?)`
    : `must be an AWS region name such as eu-west-1, not "${region}"`;
}

/** A warning for a well-formed region the SDK's partition data does not list (a region newer than it). */
export function regionWarning(region: string): string | undefined {
  if (KNOWN_REGIONS.has(region) || regionProblem(region)) return undefined;
  return `"${region}" is not among the AWS SDK's known regions: allowed as a new region, but check the name`;
}

export const awsRegion = z.string().superRefine((value, ctx) => {
  const problem = regionProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** The primary region and the DR region, as every run-time configuration carries them. */
export const regionsSchema = z.strictObject({ primary: awsRegion, dr: awsRegion });
export type Regions = z.output<typeof regionsSchema>;

export const accountId = z.string().regex(/^\d{12}$/, "must be a 12-digit account id");

// RDS DB instance and cluster identifiers: 1-63 letters, digits or hyphens; a letter first; no "--";
// not ending in a hyphen (RDS CreateDBInstance / CreateDBCluster constraints).
export const rdsIdentifier = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/,
    "must start with a letter and contain only letters, digits and single hyphens",
  )
  .refine((s) => !s.endsWith("-"), "must not end with a hyphen")
  .transform((s) => s.toLowerCase());

/** `auto` asks RDS which one the identifier names. */
export const databaseKind = z.enum(["auto", "instance", "cluster"]);

export const scheduleExpression = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value);
  if (problem)
    ctx.addIssue({ code: "custom", message: `invalid schedule expression "${value}": ${problem}` });
});

const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;
export const kmsKeyArnText = z
  .string()
  .regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");

/** The region of a KMS key, from its ARN. */
export function kmsKeyRegion(arn: string): string | undefined {
  return KMS_KEY_ARN.exec(arn)?.[2];
}

/** The account that owns a KMS key, from its ARN. */
export function kmsKeyAccount(arn: string): string | undefined {
  return KMS_KEY_ARN.exec(arn)?.[3];
}

const SECRET_ARN = /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]+):(\d{12}):secret:[\w/+=.@-]+$/;
export const secretArnText = z.string().regex(SECRET_ARN, "must be a Secrets Manager secret ARN");

export const eksClusterName = z
  .string()
  .regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name");
export const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id (sg-…)");

// Kubernetes namespace names (RFC 1123 labels).
export const namespaceName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "must be a Kubernetes namespace name (lower-case RFC 1123 label)",
  );
// Label selectors as apimachinery validates them (a selector Velero cannot build fails every rule).
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const isLabelKey = (key: string) => {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  return LABEL_NAME.test(name) && (slash < 0 || DNS_SUBDOMAIN.test(key.slice(0, slash)));
};
/** `matchLabels`: each key a label key and each value a label value, every problem named by its key. */
export const matchLabels = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    if (!isLabelKey(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          "must be a Kubernetes label key ([prefix/]name: a DNS subdomain, then up to 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric)",
      });
    } else if (value !== "" && !LABEL_NAME.test(value)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          "must be a Kubernetes label value (empty, or up to 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric)",
      });
    }
  }
});
/** A key of a Secret's `data`. */
export const secretDataKey = z
  .string()
  .regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret data key (up to 253 of A-Z a-z 0-9 - _ .)");

export const k8sName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
    "must be a Kubernetes object name (lower-case RFC 1123 subdomain)",
  );

/** A registry host (`quay.io`, `localhost:5000`), normalized as references spell it. */
export const registryHost = z.string().transform((value, ctx) => {
  try {
    return parseRegistryHost(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

/**
 * Registries on this machine spoken to over plain HTTP (a local rehearsal or test registry): loopback
 * hosts only, so no credential or image ever crosses a network unencrypted.
 */
export const insecureRegistries = z
  .array(
    z
      .string()
      .regex(
        /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/,
        "must be a loopback registry (127.0.0.1, localhost or [::1], with an optional port): plain HTTP is never used over a network",
      ),
  )
  .default([]);
