/**
 * Summarize's reading of a Distributed Map run's results as its ResultWriter writes them (Step Functions
 * Developer Guide, "ResultWriter (Map)": manifest.json listing result files by status, each file a JSON
 * array of child executions with `Output` as a JSON string, `Error`/`Cause` when FAILED), and the report
 * it makes of them with the plan's.
 */
import { describe, expect, it } from "vitest";
import type { ImageReport } from "../../../packages/core/src/registry/copy.ts";
import { readMapResults, summarizeWork } from "../../../packages/core/src/registry/work-summary.ts";

const report = (
  tag: string,
  status: ImageReport["status"],
  extra: Partial<ImageReport> = {},
): ImageReport => ({
  source: `src.test/app:${tag}`,
  destination: `dst.test/dr/app:${tag}`,
  status,
  digest: `sha256:${tag.padStart(64, "0")}`,
  bytesMoved: status === "copied" ? 1000 : 0,
  blobsCopied: 0,
  blobsSkipped: 0,
  blobsMounted: 0,
  manifestsPushed: 0,
  durationMs: 1,
  ...extra,
});

const RUN = "image-sync/results/0f2c-map-run";
const files: Record<string, unknown> = {
  [`${RUN}/manifest.json`]: {
    DestinationBucket: "work",
    MapRunArn: "arn:aws:states:eu-west-1:123456789012:mapRun:m/0f2c",
    ResultFiles: {
      FAILED: [{ Key: `${RUN}/FAILED_0.json`, Size: 300 }],
      PENDING: [],
      SUCCEEDED: [{ Key: `${RUN}/SUCCEEDED_0.json`, Size: 900 }],
    },
  },
  [`${RUN}/SUCCEEDED_0.json`]: [
    {
      ExecutionArn: "arn:aws:states:eu-west-1:123456789012:execution:m/0f2c:1",
      Input: "{}",
      Name: "1",
      Output: JSON.stringify({
        images: [report("1", "copied", { blobsCopied: 2, blobsMounted: 1 }), report("2", "up-to-date")],
        deferred: [],
      }),
      Status: "SUCCEEDED",
    },
    {
      ExecutionArn: "arn:aws:states:eu-west-1:123456789012:execution:m/0f2c:2",
      Input: "{}",
      Name: "2",
      Output: JSON.stringify({
        images: [
          report("3", "failed", { error: { name: "BlobVerificationFailed", message: "wrong content" } }),
        ],
        deferred: [{ rule: "apps", source: "src.test/app:4", destination: "dst.test/dr/app:4" }],
      }),
      Status: "SUCCEEDED",
    },
  ],
  [`${RUN}/FAILED_0.json`]: [
    {
      ExecutionArn: "arn:aws:states:eu-west-1:123456789012:execution:m/0f2c:3",
      Input: "{}",
      Name: "3",
      Error: "Transient",
      Cause: '{"errorType":"Transient","errorMessage":"ImageCopyRetry: 503"}',
      Status: "FAILED",
    },
  ],
};
const read = async (bucket: string, key: string) => {
  if (bucket !== "work" || !(key in files)) throw new Error(`NoSuchKey ${bucket}/${key}`);
  return JSON.stringify(files[key]);
};

describe("readMapResults and summarizeWork", () => {
  it("reads every child's output and every failed child, and reports them with the plan's", async () => {
    const { outputs, failed } = await readMapResults({ Bucket: "work", Key: `${RUN}/manifest.json` }, read);

    expect(outputs).toHaveLength(2);
    expect(failed).toEqual([
      { error: "Transient", cause: '{"errorType":"Transient","errorMessage":"ImageCopyRetry: 503"}' },
    ]);

    const summary = summarizeWork(
      { current: [report("0", "up-to-date")], problems: [], repositoriesCreated: ["dst.test/dr/app"] },
      outputs,
      failed,
    );

    expect(summary.totals).toEqual({
      copied: 1,
      upToDate: 2,
      failed: 1,
      deferred: 1,
      failedBatches: 1,
      // The single function's counters too (one definition: registry/totals.ts).
      bytesMoved: 1000,
      blobsCopied: 2,
      blobsSkipped: 0,
      blobsMounted: 1,
    });
    // Every image's outcome with the digest at the destination, in one order.
    expect(summary.images.map((r) => [r.source, r.status, r.digest?.slice(-1)])).toEqual([
      ["src.test/app:0", "up-to-date", "0"],
      ["src.test/app:1", "copied", "1"],
      ["src.test/app:2", "up-to-date", "2"],
      ["src.test/app:3", "failed", "3"],
    ]);
    expect(summary.deferred).toEqual(["src.test/app:4 → dst.test/dr/app:4"]);
    expect(summary.problems).toEqual([
      "src.test/app:3 → dst.test/dr/app:3: BlobVerificationFailed: wrong content",
      'a batch of images failed: Transient: {"errorType":"Transient","errorMessage":"ImageCopyRetry: 503"}',
    ]);
  });

  it("fails naming the file when the manifest is missing", async () => {
    await expect(
      readMapResults({ Bucket: "work", Key: "image-sync/results/gone/manifest.json" }, read),
    ).rejects.toMatchObject({
      name: "WorkResultsUnreadable",
      message: expect.stringContaining("s3://work/image-sync/results/gone/manifest.json"),
    });
  });
});
