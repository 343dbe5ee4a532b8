import { EC2Client } from "@aws-sdk/client-ec2";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { cachedPer } from "./restore-deps.ts";

let ec2: Map<string, EC2Client> | undefined;
export function ec2Client(region: string): EC2Client {
  ec2 ??= new Map();
  return cachedPer(ec2, region, () => new EC2Client(awsClientConfig(region)));
}
