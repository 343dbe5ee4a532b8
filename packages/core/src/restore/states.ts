/**
 * The restore state machine's state names (as the console graph shows them) and the short keys under
 * which a caught failure is recorded (`$.failed.<key>`), shared by the stack and the messages.
 */
export const STATES = {
  validate: "Validate input",
  plan: "Build plan",
  dryRun: "Dry run?",
  notifyPlan: "Notify plan",
  dryRunDone: "Dry run: nothing changed",
  tiers: "Restore tiers",
  restoreDatabase: "Restore database",
  waitDatabase: "Wait for database",
  checkDatabase: "Check database",
  ensureImages: "Ensure images",
  ensureImage: "Ensure image",
  restoreApplication: "Restore application",
  waitApplication: "Wait for application restore",
  checkApplication: "Check application restore",
  point: "Point application at restored endpoints",
  waitConfig: "Wait for configuration",
  checkConfig: "Check configuration",
  redeploy: "Redeploy",
  waitRollout: "Wait for rollout",
  checkRollout: "Check rollout",
  verify: "Verify",
  notifySuccess: "Notify success",
  notifyFailure: "Notify failure",
  failed: "Restore failed",
  succeeded: "Restore complete",
} as const;
export type StateKey = keyof typeof STATES;

/** The error a failed Parallel branch ends with; its cause is the branch's `$.failed` as JSON. */
export const TIER_FAILED = "RestoreTierFailed";

/** Starts the cause of an execution that "Notify failure" reported (the EventBridge rule skips those). */
export const NOTIFIED_MARK = "[notified]";
