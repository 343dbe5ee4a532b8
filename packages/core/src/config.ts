/**
 * The stage configuration's API (`@gitpod-dr/core/config`): the stage schema and its parser, and every
 * tier's configuration. Each tier's schemas and its job configuration live in `config/<tier>.ts`; a
 * function imports its own tier's module, so its bundle carries no other tier's schemas.
 */
export * from "./config/application.ts";
export * from "./config/drill.ts";
export * from "./config/images.ts";
export * from "./config/parse.ts";
export * from "./config/patterns.ts";
export * from "./config/rds.ts";
export * from "./config/restore.ts";
export * from "./config/stage.ts";
export * from "./config/storage.ts";
