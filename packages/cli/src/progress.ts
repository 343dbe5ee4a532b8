import type { CopyEvent } from "@gitpod-dr/core/registry/copy";
import type { Io } from "./command.ts";
import { formatBytes, formatImageReport } from "./format.ts";

/** Live progress of copies: one rewritten line on a terminal, else a line per finished image. */
export class Progress {
  private bytes = 0;
  private blobs = 0;
  private skipped = 0;
  private mounted = 0;
  private images = 0;
  private last = 0;
  constructor(
    private readonly io: Io,
    /** Print a line per finished image when not on a terminal (sync); copy-image prints its report once. */
    private readonly imageLines: boolean,
  ) {}

  readonly onEvent = (event: CopyEvent): void => {
    if (event.kind === "bytes") this.bytes += event.bytes;
    else if (event.kind === "blob") {
      this.blobs++;
      if (event.action === "skipped") this.skipped++;
      if (event.action === "mounted") this.mounted++;
    } else {
      this.images++;
      if (!this.io.progress && this.imageLines) this.io.err(formatImageReport(event.report));
    }
    const now = Date.now();
    if (this.io.progress && (now - this.last > 100 || event.kind !== "bytes")) {
      this.last = now;
      this.io.progress(
        `${this.images} image(s) done, ${formatBytes(this.bytes)} moved, ${this.blobs} blob(s) (${this.skipped} present, ${this.mounted} mounted)`,
      );
    }
  };

  done(): void {
    this.io.progress?.("");
  }
}
