import { RDSClient } from "@aws-sdk/client-rds";
import { clients } from "./cache.ts";

export const rdsClient = (region: string): RDSClient => clients.client(RDSClient, region);
