/**
 * The fake RDS (`rds/fake-rds.ts`) as the drill's tests use it, reached by the handlers' own `RDSClient`s
 * (dispatched by the client's region, as the restore harness does), with the drill's commands of
 * `./rds-commands.ts` (the rehearsal serves its clients through those too). A password set on a scratch
 * database is applied to the real MariaDB behind its endpoint.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { vi } from "vitest";
import type { FakeRdsRegion } from "../rds/fake-rds.ts";
import { type DrillRdsHooks, drillRdsSend } from "./rds-commands.ts";

export { MASTER_USER } from "./rds-commands.ts";

export interface DrillRds extends DrillRdsHooks {
  restore(): void;
}

/** Serves every `RDSClient` of the process from `regions` (by the client's region), with the drill's commands. */
export function serveDrillRds(regions: Record<string, FakeRdsRegion>): DrillRds {
  const state: DrillRds = {
    deleted: [],
    restore: () => spy.mockRestore(),
  };
  const sends = new Map<string, (command: unknown) => Promise<unknown>>();
  const spy = vi.spyOn(RDSClient.prototype, "send");
  spy.mockImplementation(async function (this: RDSClient, command: unknown) {
    const region = await this.config.region();
    const fake = regions[region];
    if (!fake) throw new Error(`fake RDS: no region ${region}`);
    let send = sends.get(region);
    if (!send) {
      send = drillRdsSend(fake, state);
      sends.set(region, send);
    }
    return send(command);
  } as never);
  return state;
}
