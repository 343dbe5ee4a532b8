import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { clients } from "./cache.ts";

export const cloudwatchClient = (region: string): CloudWatchClient =>
  clients.client(CloudWatchClient, region);
