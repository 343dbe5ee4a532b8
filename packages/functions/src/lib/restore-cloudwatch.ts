import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { cachedPer } from "./restore-deps.ts";

let cloudwatch: Map<string, CloudWatchClient> | undefined;
export function cloudwatchClient(region: string): CloudWatchClient {
  cloudwatch ??= new Map();
  return cachedPer(cloudwatch, region, () => new CloudWatchClient(awsClientConfig(region)));
}
