import { GitpodDrError } from "../errors.ts";
import type { StorageCheckSummary } from "./types.ts";

/** The S3 replication check's errors. Their `name`s are matched by the alerts and printed by the CLI: never rename one. */

/** The check found failures; the message lists every finding. */
export class ReplicationUnhealthyError extends GitpodDrError {
  override readonly name = "ReplicationUnhealthy";
  constructor(
    message: string,
    readonly summary: StorageCheckSummary,
  ) {
    super(message);
  }
}
