import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { perKey } from "./per-key.ts";

export const cloudwatchClient = perKey((region) => new CloudWatchClient(awsClientConfig(region)));
