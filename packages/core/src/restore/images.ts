import * as z from "zod";
import { CopySession, type TransportFor } from "../registry/copy.ts";
import { parseReference, referenceTarget } from "../registry/reference.ts";
import { headManifest } from "../registry/remote.ts";
import { ImageUnavailableError } from "./errors.ts";
import type { ImageItem, Timed } from "./types.ts";

/**
 * "Ensure image" (one item of the Map state): the image the application needs is in the target
 * registry, or is copied there from the other one with the image engine (digests unchanged). The target
 * is asked first, so an image already in place needs nothing from a source region that may be gone.
 */

/** "Ensure image", one image of the Map state. */
export const imageEvent = z.object({
  item: z.object({ reference: z.string().min(1), source: z.string().min(1).optional() }),
});

export interface EnsuredImage extends Timed {
  readonly reference: string;
  readonly status: "present" | "copied";
  readonly digest?: string;
  readonly bytesMoved: number;
}

export async function ensureImage(
  item: ImageItem,
  transportFor: TransportFor,
  options: { readonly now?: () => Date; readonly signal?: AbortSignal } = {},
): Promise<EnsuredImage> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const target = parseReference(item.reference);
  const head = await headManifest(
    transportFor(target.registry),
    target.repository,
    referenceTarget(target),
    options.signal,
  );
  if (head) {
    return {
      reference: item.reference,
      status: "present",
      digest: head.digest,
      bytesMoved: 0,
      startedAt,
      finishedAt: now().toISOString(),
    };
  }
  if (!item.source) {
    throw new ImageUnavailableError(
      `${item.reference} is not in the target registry and no other registry is configured to copy it from (restore.targets.*.registry)`,
    );
  }
  const source = parseReference(item.source);
  const report = await new CopySession(
    transportFor,
    options.signal ? { signal: options.signal } : {},
  ).copyImage(source, target);
  if (report.status === "failed") {
    const e = report.error;
    throw new ImageUnavailableError(
      `${item.reference} is not in the target registry and copying it from ${item.source} failed: ${e?.code ? `${e.code}: ` : ""}${e?.message ?? "unknown error"}`,
      { retryable: e?.name === "CopyAborted" || e?.retryable === true },
    );
  }
  return {
    reference: item.reference,
    status: "copied",
    ...(report.digest ? { digest: report.digest } : {}),
    bytesMoved: report.bytesMoved,
    startedAt,
    finishedAt: now().toISOString(),
  };
}
