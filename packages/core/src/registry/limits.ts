/** The most blob transfers (and images) at once: the stage file's `images.concurrency` and the CLI's `--concurrency`. */
export const MAX_CONCURRENCY = 32;
