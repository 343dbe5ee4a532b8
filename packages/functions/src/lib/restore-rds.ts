import { RDSClient } from "@aws-sdk/client-rds";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { perKey } from "./per-key.ts";

export const rdsClient = perKey((region) => new RDSClient(awsClientConfig(region)));
