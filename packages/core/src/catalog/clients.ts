import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ClientCache } from "../aws/cache.ts";
import type { CatalogConfig } from "../config/catalog.ts";
import { CatalogStore } from "./store.ts";

/** The catalog of a job's configuration (in the DR region), from the cache; undefined without one. */
export function catalogStore(
  catalog: Pick<CatalogConfig, "tableName" | "region"> | undefined,
  cache: ClientCache,
): CatalogStore | undefined {
  if (!catalog) return undefined;
  const documents = cache.value(`catalog documents ${catalog.region}`, () =>
    DynamoDBDocumentClient.from(cache.client(DynamoDBClient, catalog.region)),
  );
  return new CatalogStore(documents, catalog.tableName);
}
