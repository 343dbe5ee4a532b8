import { randomBytes } from "node:crypto";
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
} from "@aws-sdk/client-rds";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { rememberSecret } from "../notify/secrets.ts";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "../tags.ts";
import { DrillNotReadyError, DrillScopeError } from "./errors.ts";
import { drillSecretName, isScratchDb, TAG_DRILL } from "./naming.ts";

/**
 * Credentials the drill controls: the scratch database's master password is reset to a new random one
 * kept in a Secrets Manager secret of the drill (`gitpod-dr/<stage>/drill/<id>`, tagged). Production's
 * password is never read or used. A retry reuses the secret's password, so it is safe to run twice.
 */

export interface ScratchDatabase {
  readonly kind: "instance" | "cluster";
  readonly identifier: string;
}

export interface ScratchAccess {
  readonly secretArn: string;
  readonly username: string;
  readonly host: string;
  readonly port: number;
}

interface Described {
  readonly status: string;
  readonly username: string;
  readonly host?: string;
  readonly port?: number;
  readonly tags: Record<string, string>;
}

/** The scratch database as RDS describes it. @throws DrillScopeError when it is not a drill's. */
export async function describeScratch(rds: Pick<RDSClient, "send">, db: ScratchDatabase): Promise<Described> {
  if (!isScratchDb(db.identifier)) {
    throw new DrillScopeError(
      `${db.identifier} is not a drill's scratch database: the drill touches no other`,
    );
  }
  try {
    const tagsOf = (list?: { Key?: string | undefined; Value?: string | undefined }[]) =>
      Object.fromEntries((list ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    if (db.kind === "instance") {
      const i = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.identifier })))
        .DBInstances?.[0];
      return {
        status: i?.DBInstanceStatus ?? "unknown",
        username: i?.MasterUsername ?? "",
        ...(i?.Endpoint?.Address ? { host: i.Endpoint.Address } : {}),
        ...(i?.Endpoint?.Port ? { port: i.Endpoint.Port } : {}),
        tags: tagsOf(i?.TagList),
      };
    }
    const c = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: db.identifier })))
      .DBClusters?.[0];
    return {
      status: c?.Status ?? "unknown",
      username: c?.MasterUsername ?? "",
      ...(c?.Endpoint ? { host: c.Endpoint } : {}),
      ...(c?.Port ? { port: c.Port } : {}),
      tags: tagsOf(c?.TagList),
    };
  } catch (error) {
    throw wrapAwsError(`Unable to describe the scratch database ${db.identifier}`, error);
  }
}

/** A password RDS accepts (no `/`, `@`, `"`, space): 32 characters of base64url. */
const newPassword = () => randomBytes(24).toString("base64url");

async function ensureSecret(
  secrets: Pick<SecretsManagerClient, "send">,
  name: string,
  drillId: string,
  username: string,
): Promise<{ arn: string; password: string }> {
  try {
    const found = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    const value = JSON.parse(found.SecretString ?? "{}") as { password?: string };
    if (found.ARN && value.password) return { arn: found.ARN, password: value.password };
  } catch (error) {
    if (awsErrorCode(error) !== "ResourceNotFoundException") {
      throw wrapAwsError(`Unable to read the drill secret ${name}`, error);
    }
  }
  const password = newPassword();
  try {
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: name,
        Description: `gitpod-dr drill ${drillId}: the scratch database's master credentials (deleted by the drill's teardown)`,
        SecretString: JSON.stringify({ username, password }),
        Tags: [
          { Key: TAG_CREATED_BY, Value: TAG_CREATED_BY_VALUE },
          { Key: TAG_DRILL, Value: drillId },
        ],
      }),
    );
    return { arn: created.ARN ?? name, password };
  } catch (error) {
    throw wrapAwsError(`Unable to create the drill secret ${name}`, error);
  }
}

/**
 * Resets the scratch database's master password to the drill secret's ("Prepare database access").
 * @throws DrillScopeError (not a drill's database, or not tagged as gitpod-dr's), DrillNotReadyError
 *   (no endpoint yet), AwsCallError
 */
export async function prepareScratchAccess(
  deps: { readonly rds: Pick<RDSClient, "send">; readonly secrets: Pick<SecretsManagerClient, "send"> },
  input: ScratchDatabase & { readonly stage: string; readonly drillId: string },
): Promise<ScratchAccess> {
  const db = await describeScratch(deps.rds, input);
  if (db.tags[TAG_CREATED_BY] !== TAG_CREATED_BY_VALUE) {
    throw new DrillScopeError(
      `${input.identifier} does not carry ${TAG_CREATED_BY}=${TAG_CREATED_BY_VALUE}: not reset`,
    );
  }
  if (!db.host || !db.port)
    throw new DrillNotReadyError(`${input.identifier} has no endpoint yet (${db.status})`);
  const secret = await ensureSecret(
    deps.secrets,
    drillSecretName(input.stage, input.drillId),
    input.drillId,
    db.username,
  );
  rememberSecret(secret.password);
  try {
    if (input.kind === "instance") {
      await deps.rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: input.identifier,
          MasterUserPassword: secret.password,
          ApplyImmediately: true,
        }),
      );
    } else {
      await deps.rds.send(
        new ModifyDBClusterCommand({
          DBClusterIdentifier: input.identifier,
          MasterUserPassword: secret.password,
          ApplyImmediately: true,
        }),
      );
    }
  } catch (error) {
    throw wrapAwsError(`Unable to set the drill's password on ${input.identifier}`, error);
  }
  return { secretArn: secret.arn, username: db.username, host: db.host, port: db.port };
}

/** The drill secret's password. @throws AwsCallError */
export async function scratchPassword(
  secrets: Pick<SecretsManagerClient, "send">,
  secretArn: string,
): Promise<string> {
  try {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const password = (JSON.parse(out.SecretString ?? "{}") as { password?: string }).password;
    if (!password) throw new DrillScopeError(`The drill secret ${secretArn} holds no password`);
    rememberSecret(password);
    return password;
  } catch (error) {
    throw wrapAwsError(`Unable to read the drill secret ${secretArn}`, error);
  }
}
