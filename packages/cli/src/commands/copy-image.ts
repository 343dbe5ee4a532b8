import type { CommandSpec } from "../command.ts";

export const copyImage: CommandSpec = {
  name: "copy-image",
  summary: "Copy one image (an index with all its platforms) between registries, digests unchanged",
  usage: "copy-image SRC DST [options]",
  description: [
    "SRC and DST are image references (registry/repository[:tag|@digest]). When DST names no tag, it",
    "takes SRC's tag (or latest). ECR uses your AWS credentials (checked first); other registries your",
    'docker login: ~/.docker/config.json "auths", or its credential helpers ("credsStore",',
    '"credHelpers": docker-credential-<helper> on PATH), else anonymous access.',
  ].join("\n"),
  options: [
    ["--platform OS/ARCH[/VARIANT]", "copy only this platform of an index (repeatable)"],
    ["--insecure-registry HOST:PORT", "speak plain HTTP to this registry (repeatable; local registries)"],
    ["--concurrency N", "blob transfers at once, 1 to 32 (default 6)"],
    ["--force", "copy even when the destination already has the source's digest"],
    ["--json", "print one JSON document: the report"],
  ],
  examples: [
    "npx gitpod-dr copy-image ghcr.io/org/app:1.0 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
    "npx gitpod-dr copy-image localhost:5000/app:1.0 localhost:5001/app --insecure-registry localhost:5000 --insecure-registry localhost:5001",
  ],
  exitCodes: [
    [0, "copied, or already up to date"],
    [1, "the copy failed (the report names the registry's error)"],
    [2, "bad usage or AWS credentials; nothing was copied"],
  ],
  load: async () => (await import("../copy-image.ts")).copyImageCommand,
};
