import { ensureImage, imageEvent } from "@gitpod-dr/core/restore/images";
import { logger } from "./lib/logger.ts";
import { registryTransports } from "./lib/restore-registry.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Ensure image", one image of the Map state. */
export const handler = taskHandler(logger, async (raw, _context, signal) => {
  const { item } = imageEvent.parse(raw);
  // The handler's early timeout aborts the copy: the failure is ours (JobTimeout, retried by the state).
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
