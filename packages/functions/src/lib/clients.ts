import { SNSClient } from "@aws-sdk/client-sns";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

// Few, short retries: the notification must go out within the time kept back before Lambda's timeout.
const NOTIFY_RETRY = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

/** The SNS client for failure notifications (in the function's region). */
export function snsClient(): SNSClient {
  return clients.client(SNSClient, env.region || "us-east-1", { retry: NOTIFY_RETRY });
}
