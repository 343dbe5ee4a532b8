import { ClientCache } from "@gitpod-dr/core/aws/cache";

/**
 * The function's clients, cluster connections and parsed configuration, kept for the cold start. A
 * module of its own, so that a handler's bundle carries only the clients it asks the cache for.
 */
export let clients = new ClientCache();

/**
 * Makes the handlers use `cache` until the returned function is called (`gitpod-dr rehearse` runs them on
 * the simulated account's cache). A deployed function never calls it. Importers see the swap through
 * the ES module's live binding.
 */
export function useClientCache(cache: ClientCache): () => void {
  const previous = clients;
  clients = cache;
  return () => {
    clients = previous;
  };
}
