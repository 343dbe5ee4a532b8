import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { CATALOG_KEYS } from "../../../core/src/catalog/store.ts";

/**
 * A real DynamoDB implementation for the catalog: dynalite in process on an ephemeral 127.0.0.1 port,
 * with the catalog table created as the stack defines it (pk/sk strings). Used by the rehearsal and the
 * tests (no test framework here).
 */

export const CATALOG_REGION = "eu-central-1";

export async function startDynalite(): Promise<{ server: Server; endpoint: string }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function createCatalogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: CATALOG_KEYS.partition, AttributeType: "S" },
        { AttributeName: CATALOG_KEYS.sort, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: CATALOG_KEYS.partition, KeyType: "HASH" },
        { AttributeName: CATALOG_KEYS.sort, KeyType: "RANGE" },
      ],
    }),
  );
}
