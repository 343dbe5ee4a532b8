import type { FunctionProps, Stack } from "sst/constructs";

/** The esbuild plugin type of the esbuild that SST bundles with (0.18); the bench's current esbuild takes it too. */
type Plugin = NonNullable<NonNullable<NonNullable<FunctionProps["nodejs"]>["esbuild"]>["plugins"]>[number];

/** iconv-lite's double-byte (Chinese, Japanese, Korean) code tables, ~0.41 MB of the minified bundle. */
const CJK_TABLE = /^\.\/tables\/[\w-]+\.json$/;
const DBCS_DATA = /[\\/]iconv-lite[\\/]encodings[\\/]dbcs-data\.js$/;

/**
 * Leaves iconv-lite's CJK code tables out of the drill-database bundle: in their place a module that
 * throws, naming the table, if it is ever evaluated. Safe because nothing evaluates them on this
 * function's path: iconv-lite requires a table only when a double-byte codec is first built
 * (`table: function () { return require("./tables/…json") }` in encodings/dbcs-data.js, "not require()-d
 * until they are needed"), and mysql2 asks iconv-lite for a codec only for an encoding Node's Buffer
 * lacks (lib/parsers/string.js); the drill's connection is utf8mb4 (mysql2's default, UTF8MB4_UNICODE_CI),
 * which is Buffer's utf8. test/integration/drill-sql-checks.test.ts runs this bundle's mysql2 against
 * MariaDB: utf8mb4 text of every script round-trips, and a Shift-JIS connection meets the error.
 */
export const leaveOutCjkTables: Plugin = {
  name: "gitpod-dr-leave-out-cjk-tables",
  setup(build) {
    build.onResolve({ filter: CJK_TABLE }, (args) =>
      DBCS_DATA.test(args.importer) ? { path: args.path, namespace: "gitpod-dr-left-out" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "gitpod-dr-left-out" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(
        `iconv-lite's ${args.path} is left out of this bundle (stacks/drill/bundling.ts): only a utf8mb4 connection is supported`,
      )});`,
      loader: "js",
    }));
  },
};

/**
 * The drill-database function's `nodejs` options: the app's defaults (SST merges function props
 * shallowly, so a function's own `nodejs` would replace them) plus the plugin above.
 */
export function drillDatabaseBundling(stack: Stack): NonNullable<FunctionProps["nodejs"]> {
  const defaults = stack.defaultFunctionProps.reduce<FunctionProps["nodejs"]>(
    (merged, props) => props.nodejs ?? merged,
    undefined,
  );
  return {
    ...defaults,
    esbuild: { ...defaults?.esbuild, plugins: [...(defaults?.esbuild?.plugins ?? []), leaveOutCjkTables] },
  };
}
