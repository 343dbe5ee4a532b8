import { eksToken } from "../../../core/src/velero/eks-token.ts";
import { SIM_CREDENTIALS } from "./account.ts";
import type { SimWorld } from "./world.ts";

/** A kubeconfig with one context per simulated cluster (127.0.0.1, the simulator's CA, an EKS token). */
export async function kubeconfigFor(world: SimWorld): Promise<string> {
  const clusters = [world.primary, world.dr].filter((c) => c !== undefined);
  const entries = await Promise.all(
    clusters.map(async (c) => ({
      c,
      token: (await eksToken({ clusterName: c.name, region: c.region, credentials: SIM_CREDENTIALS })).token,
    })),
  );
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
