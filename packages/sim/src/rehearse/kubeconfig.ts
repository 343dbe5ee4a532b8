import type { SimWorld } from "./world.ts";

/**
 * A kubeconfig with one context per simulated cluster (127.0.0.1, the simulator's CA), as a cluster
 * administrator: the person looking around after `rehearse --keep` lists namespaces, which the
 * functions' RBAC (deploy/rbac*.yaml) rightly does not allow, and stays longer than an EKS token lasts.
 */
export async function kubeconfigFor(world: SimWorld): Promise<string> {
  const clusters = [world.primary, world.dr].filter((c) => c !== undefined);
  const entries = clusters.map((c) => ({ c, token: c.adminToken }));
  const lines = ["apiVersion: v1", "kind: Config", `current-context: ${world.primary.name}`, "clusters:"];
  for (const { c } of entries) {
    lines.push(
      `- name: ${c.name}`,
      "  cluster:",
      `    server: ${c.api.url}`,
      `    certificate-authority-data: ${c.api.caData}`,
    );
  }
  lines.push("users:");
  for (const { c, token } of entries) lines.push(`- name: ${c.name}`, "  user:", `    token: ${token}`);
  lines.push("contexts:");
  for (const { c } of entries) {
    lines.push(`- name: ${c.name}`, "  context:", `    cluster: ${c.name}`, `    user: ${c.name}`);
  }
  return `${lines.join("\n")}\n`;
}
