import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { wrapAwsError } from "../aws/errors.ts";
import { formatIssues } from "../config/parse.ts";
import {
  type CatalogEntry,
  catalogEntrySchema,
  type EntryKind,
  type EntryOf,
  entryId,
  entryTime,
} from "./entries.ts";
import { CatalogReadError, CatalogWriteError } from "./errors.ts";

/**
 * The catalog over a DynamoDB table (through the lib-dynamodb document client). One partition per tier
 * (`database`, `images`, `application`), one for drill results (`drill`) and one per bucket (`objectStorage#<bucket>`); the sort key is the
 * entry's time then its id, so "newest" is one Query read backwards. Writing the same entry again
 * overwrites it with the same key: recording is idempotent, a repeated run changes nothing.
 */

export type DocumentClient = Pick<DynamoDBDocumentClient, "send">;

/** The table's key attributes (both strings): the stack defines the table with them. */
export const CATALOG_KEYS = { partition: "pk", sort: "sk" } as const;

/** The partition of a tier (or of drills), or of one bucket of the object-storage tier. */
export function partitionKey(tier: EntryKind, bucket?: string): string {
  if (tier === "objectStorage") {
    if (!bucket) throw new Error("The object-storage tier is partitioned by bucket: name one");
    return `objectStorage#${bucket}`;
  }
  return tier;
}

const sortKey = (entry: CatalogEntry) => `${new Date(entryTime(entry)).toISOString()}#${entryId(entry)}`;

export class CatalogStore {
  constructor(
    private readonly client: DocumentClient,
    readonly tableName: string,
  ) {}

  /**
   * Records an entry (idempotent: the same entry again overwrites itself).
   * @throws CatalogWriteError when the entry is invalid or DynamoDB refuses it.
   */
  async put(entry: CatalogEntry): Promise<void> {
    const parsed = catalogEntrySchema.safeParse(entry);
    if (!parsed.success) {
      throw new CatalogWriteError(
        `Not recorded in catalog ${this.tableName}: the ${entry.tier} entry is invalid: ${formatIssues(parsed.error).join("; ")}`,
      );
    }
    const pk = partitionKey(entry.tier, entry.tier === "objectStorage" ? entry.bucket : undefined);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: sortKey(parsed.data), entry: parsed.data },
        }),
      );
    } catch (cause) {
      const wrapped = wrapAwsError(`Unable to record ${entry.tier} in catalog ${this.tableName}`, cause);
      throw new CatalogWriteError(wrapped.message, { cause: wrapped });
    }
  }

  /**
   * The newest entries of a tier or of drills (of one bucket for `objectStorage`), newest first.
   * @throws CatalogReadError when the table cannot be read or holds an invalid entry.
   */
  async newest<T extends EntryKind>(
    tier: T,
    options: { readonly bucket?: string; readonly limit?: number } = {},
  ): Promise<EntryOf<T>[]> {
    const pk = partitionKey(tier, options.bucket);
    let items: Record<string, unknown>[];
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk },
          ScanIndexForward: false,
          Limit: options.limit ?? 1,
        }),
      );
      items = out.Items ?? [];
    } catch (cause) {
      const wrapped = wrapAwsError(`Unable to read ${pk} from catalog ${this.tableName}`, cause);
      throw new CatalogReadError(wrapped.message, { cause: wrapped, retryable: wrapped.retryable });
    }
    return items.map((item) => {
      const parsed = catalogEntrySchema.safeParse(item.entry);
      if (!parsed.success || parsed.data.tier !== tier) {
        throw new CatalogReadError(
          `Catalog ${this.tableName} holds an invalid entry ${String(item.pk)} ${String(item.sk)}: ${parsed.success ? `tier ${parsed.data.tier}` : formatIssues(parsed.error).join("; ")}`,
        );
      }
      return parsed.data as EntryOf<T>;
    });
  }
}
