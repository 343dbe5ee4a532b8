import { describe, expect, it } from "vitest";
import { EXIT_OK, main } from "../../../packages/cli/src/main.ts";

describe("--help of synth, deploy and restore", () => {
  it.each(["synth", "deploy", "restore"])(
    "%s --help: usage, options, an example, exit codes; exit 0",
    async (command) => {
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
      expect(await main([command, "--help"], io)).toBe(EXIT_OK);
      const text = out.join("\n");
      expect(text).toMatch(new RegExp(`^gitpod-dr ${command}: `));
      expect(text).toMatch(
        /\nUsage: gitpod-dr [\s\S]*\nOptions:\n[\s\S]*-h, --help[\s\S]*\nExamples?:\n {2}(npx|npm) [\s\S]*\nExit codes:\n {2}0 /,
      );
      // Printed through the CLI's redaction: no wording of ours may look like a secret to it.
      expect(text).not.toContain("[REDACTED]");
    },
  );
});

describe("restore --help", () => {
  it("lists the tiers the restore input accepts (the help module does not load the input's schema)", async () => {
    const { TIERS } = await import("../../../packages/core/src/restore/input.ts");
    const { restore } = await import("../../../packages/cli/src/commands/restore.ts");
    const tiers = restore.options.find(([flag]) => flag.startsWith("--tiers"));
    expect(tiers?.[1]).toContain(`(${TIERS.join(",")})`);
  });
});
