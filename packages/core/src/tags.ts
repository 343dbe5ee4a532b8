/**
 * The tag gitpod-dr puts on every AWS resource it creates (RDS snapshots and restored databases, ECR
 * repositories). The code that writes and checks it and the IAM conditions in `stacks/` that let the
 * functions tag and delete only what carries it read these constants: a drift between the two would
 * silently break IAM (an AccessDenied on tagging, or a role allowed to delete what is not the tool's).
 * Tier-specific keys live with their tier (`rds/naming.ts`, `restore/database.ts`).
 */
export const TAG_CREATED_BY = "gitpod-dr:created-by";
export const TAG_CREATED_BY_VALUE = "gitpod-dr";

/** The created-by tag in the `{ Key, Value }` shape of the RDS and ECR APIs. */
export const CREATED_BY_TAG = { Key: TAG_CREATED_BY, Value: TAG_CREATED_BY_VALUE } as const;
