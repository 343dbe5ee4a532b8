import type { ObjectStore } from "./store.ts";
import type { KubeObject } from "./types.ts";

/**
 * The namespace controller, for clusters started with `namespaceFinalization: "controller"`: a deleted
 * namespace stays `Terminating` (with its `deletionTimestamp`) and keeps its objects until the controller
 * runs, as the real one does asynchronously; meanwhile nothing new may be created in it (the API server's
 * NamespaceLifecycle admission). `finalizeNamespaces()` is one pass of the controller: every Terminating
 * namespace loses its objects, then goes itself.
 */

export const NAMESPACE_CONTROLLER = "namespace-controller";

export const isTerminating = (ns: KubeObject | undefined): boolean =>
  (ns?.status as { phase?: string } | undefined)?.phase === "Terminating";

/** Deletes a namespace's objects and the namespace (the controller's work, or an immediate delete). */
export function removeNamespace(store: ObjectStore, name: string, actor: string): void {
  for (const obj of store.inNamespace(name)) {
    store.delete(obj.apiVersion, obj.kind, obj.metadata.namespace as string, obj.metadata.name, {
      actor: NAMESPACE_CONTROLLER,
    });
  }
  store.delete("v1", "Namespace", "", name, { actor });
}

/** One pass of the namespace controller. @returns the namespaces it finalized */
export function finalizeNamespaces(store: ObjectStore): string[] {
  const terminating = store
    .list("v1", "Namespace")
    .filter(isTerminating)
    .map((n) => n.metadata.name);
  for (const name of terminating) removeNamespace(store, name, NAMESPACE_CONTROLLER);
  return terminating;
}
