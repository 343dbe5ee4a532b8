import { Logger } from "@aws-lambda-powertools/logger";
import { env } from "./env.ts";

/** One Powertools logger per cold start; the middleware adds the Lambda context to every line. */
export const logger = new Logger({ serviceName: "gitpod-dr", persistentKeys: { stage: env.stage } });
