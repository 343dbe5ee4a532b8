import { ClientCache } from "@gitpod-dr/core/aws/cache";

/**
 * The function's clients, cluster connections and parsed configuration, kept for the cold start. A
 * module of its own, so that a handler's bundle carries only the clients it asks the cache for.
 */
export const clients = new ClientCache();
