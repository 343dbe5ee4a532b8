import { readFile } from "node:fs/promises";
import type { FunctionProps } from "sst/constructs";

/** The esbuild plugin type of the esbuild that SST bundles with (0.18, not the root esbuild). */
type Plugin = NonNullable<NonNullable<NonNullable<FunctionProps["nodejs"]>["esbuild"]>["plugins"]>[number];

/**
 * SST v2 bundles with esbuild 0.18, which predates import attributes: `@kubernetes/client-node` 2
 * imports its package.json `with { type: 'json' }`, which that esbuild cannot parse. This drops the
 * attribute (the `.json` loader already treats the file as JSON). Remove with a move to plain CDK's
 * NodejsFunction and a current esbuild.
 */
export const stripJsonImportAttributes: Plugin = {
  name: "gitpod-dr-strip-json-import-attributes",
  setup(build) {
    build.onLoad({ filter: /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      return {
        contents: source.replace(
          /(import\s+\w+\s+from\s+['"][^'"]+\.json['"])\s+with\s*\{\s*type:\s*['"]json['"]\s*\}/g,
          "$1",
        ),
        loader: "js",
      };
    });
  },
};
