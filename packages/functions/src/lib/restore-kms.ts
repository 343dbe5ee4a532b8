import { KMSClient } from "@aws-sdk/client-kms";
import { clients } from "./cache.ts";

export const kmsClient = (region: string): KMSClient => clients.client(KMSClient, region);
