import { SNSClient } from "@aws-sdk/client-sns";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { env } from "./env.ts";

let sns: SNSClient | undefined;

/** The SNS client for failure notifications, built once per cold start (in the function's region). */
export function snsClient(): SNSClient {
  sns ??= new SNSClient(awsClientConfig(env.region || "us-east-1"));
  return sns;
}
