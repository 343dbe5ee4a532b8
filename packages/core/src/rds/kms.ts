import { DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { kmsKeyAccount } from "../config/patterns.ts";
import { DefaultKmsKeyNotShareableError } from "./errors.ts";
import type { Database, Snapshot } from "./types.ts";

/** What the snapshot job checks and says about KMS keys before and after a cross-region copy. */

/** What to check when RDS cannot use a KMS key for a copy (empty for any other error). */
export function kmsHint(err: unknown): string {
  const code = awsErrorCode(err) ?? awsErrorCode((err as Error | undefined)?.cause);
  if (code !== "KMSKeyNotAccessibleFault") return "";
  return ". If the database is encrypted with a customer managed key, set database.kmsKeyArn to it so the function may use it; the DR key's policy must allow the function's role kms:CreateGrant and kms:DescribeKey";
}

/**
 * A snapshot encrypted with the AWS managed key `aws/rds` cannot be shared with another account
 * (RDS "Sharing a DB snapshot": snapshots encrypted with the default key can't be shared), so it cannot
 * reach a DR key that belongs to another account. The check asks KMS only when the accounts differ.
 */
export class DefaultKeyCheck {
  private readonly managedByAws = new Map<string, boolean>();
  private readonly crossAccount: boolean;

  constructor(
    private readonly kms: KMSClient,
    private readonly database: Database,
    private readonly drKmsKeyArn: string,
  ) {
    this.crossAccount = kmsKeyAccount(drKmsKeyArn) !== database.account;
  }

  /** @throws DefaultKmsKeyNotShareableError when the snapshot cannot reach the DR key. */
  async check(snapshot: Snapshot): Promise<void> {
    if (!this.crossAccount || !snapshot.encrypted || !snapshot.kmsKeyId) return;
    let awsManaged = this.managedByAws.get(snapshot.kmsKeyId);
    if (awsManaged === undefined) {
      try {
        const out = await this.kms.send(new DescribeKeyCommand({ KeyId: snapshot.kmsKeyId }));
        awsManaged = out.KeyMetadata?.KeyManager === "AWS";
      } catch (err) {
        throw wrapAwsError(`Unable to describe the KMS key of snapshot ${snapshot.identifier}`, err);
      }
      this.managedByAws.set(snapshot.kmsKeyId, awsManaged);
    }
    if (!awsManaged) return;
    throw new DefaultKmsKeyNotShareableError(
      `Snapshot ${snapshot.identifier} is encrypted with the AWS managed key aws/rds, which cannot be shared with account ${kmsKeyAccount(this.drKmsKeyArn)} that owns the DR key: encrypt the database ${this.database.identifier} with a customer managed key (restore a copy encrypted with one), or use a DR key in account ${this.database.account}`,
    );
  }
}
