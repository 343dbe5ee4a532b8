import { EC2Client } from "@aws-sdk/client-ec2";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { perKey } from "./per-key.ts";

export const ec2Client = perKey((region) => new EC2Client(awsClientConfig(region)));
