import { ensureImage } from "@gitpod-dr/core/restore/images";
import { z } from "zod";
import { logger } from "./lib/logger.ts";
import { registryTransports } from "./lib/restore-registry.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Ensure image", one image of the Map state. */
const event = z.object({
  item: z.object({ reference: z.string().min(1), source: z.string().min(1).optional() }),
});

export const handler = taskHandler(logger, async (raw, context) => {
  const { item } = event.parse(raw);
  // Stop 10 s before Lambda would, so the failure is ours (retried by the state) and not a timeout.
  const signal = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - 10_000));
  const result = await ensureImage(
    { reference: item.reference, ...(item.source ? { source: item.source } : {}) },
    registryTransports(),
    { signal },
  );
  logger.info("Image in place", {
    reference: result.reference,
    status: result.status,
    bytes: result.bytesMoved,
  });
  return result;
});
