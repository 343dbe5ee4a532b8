import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeptSimulation } from "@gitpod-dr/sim/rehearse/types";

/**
 * Resolves at Ctrl-C (SIGINT) or SIGTERM. A timer holds the event loop open meanwhile: a pending promise
 * alone does not, and Node would end the process while the user is still looking around.
 */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const hold = setInterval(() => {}, 1 << 30);
    const stop = () => {
      clearInterval(hold);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * `--keep`: writes the kept clusters' kubeconfig to a private temporary file, says how to use it, waits
 * for the user to stop, then stops the simulation and removes the file.
 */
export async function holdKept(
  kept: KeptSimulation,
  say: (text: string) => void,
  wait: () => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "gitpod-dr-rehearsal-"));
  try {
    const file = join(dir, "kubeconfig");
    await writeFile(file, kept.kubeconfig, { mode: 0o600 });
    say("");
    say(`The simulated clusters are still running. Their kubeconfig: ${file}`);
    say(`Try: kubectl --kubeconfig ${file} get ns`);
    say(`     kubectl --kubeconfig ${file} config get-contexts   (one context per cluster)`);
    say("Press Ctrl-C to stop them.");
    await wait();
    say("Stopping the simulated clusters…");
  } finally {
    await kept.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
