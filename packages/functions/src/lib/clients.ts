import { SNSClient } from "@aws-sdk/client-sns";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { env } from "./env.ts";

let sns: SNSClient | undefined;

/** The SNS client for failure notifications, built once per cold start (in the function's region). */
export function snsClient(): SNSClient {
  // Few, short retries: the notification must go out within the time kept back before Lambda's timeout.
  sns ??= new SNSClient(
    awsClientConfig(env.region || "us-east-1", { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 }),
  );
  return sns;
}
