import type { SimWorld } from "./world.ts";

/** A kubeconfig with one context per simulated cluster (127.0.0.1, the simulator's CA, the admin's token). */
export function kubeconfigFor(world: SimWorld): string {
  const clusters = [world.primary, world.dr].filter((c) => c !== undefined);
  const lines = ["apiVersion: v1", "kind: Config", `current-context: ${world.primary.name}`, "clusters:"];
  for (const c of clusters) {
    lines.push(
      `- name: ${c.name}`,
      "  cluster:",
      `    server: ${c.api.url}`,
      `    certificate-authority-data: ${c.api.caData}`,
    );
  }
  lines.push("users:", "- name: rehearsal-admin", "  user:", `    token: ${world.adminToken}`, "contexts:");
  for (const c of clusters) {
    lines.push(`- name: ${c.name}`, "  context:", `    cluster: ${c.name}`, "    user: rehearsal-admin");
  }
  return `${lines.join("\n")}\n`;
}
