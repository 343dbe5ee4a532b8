import { EC2Client } from "@aws-sdk/client-ec2";
import { clients } from "./cache.ts";

export const ec2Client = (region: string): EC2Client => clients.client(EC2Client, region);
