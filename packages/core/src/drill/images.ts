import type { TransportFor } from "../registry/copy.ts";
import { parseReference, referenceTarget } from "../registry/reference.ts";
import { headManifest } from "../registry/remote.ts";

/**
 * "Check images": every image of the recovery point is present in the target registry — by the digest
 * recorded with the recovery point when there is one (the same bytes), else by its tag. Checked, never
 * copied: a drill must not change the registry.
 */

export interface ImagePresence {
  readonly checked: number;
  readonly present: readonly { readonly reference: string; readonly digest?: string }[];
  readonly problems: readonly string[];
}

/** @throws only what the transport throws outside a manifest's answer (none: errors become problems). */
export async function checkImagePresence(
  images: readonly { readonly reference: string; readonly digest?: string | undefined }[],
  transportFor: TransportFor,
  signal?: AbortSignal,
): Promise<ImagePresence> {
  const present: { reference: string; digest?: string }[] = [];
  const problems: string[] = [];
  for (const image of images) {
    try {
      const ref = parseReference(image.reference);
      const target = image.digest ?? referenceTarget(ref);
      const head = await headManifest(transportFor(ref.registry), ref.repository, target, signal);
      if (!head) {
        problems.push(
          image.digest
            ? `${image.reference}: digest ${image.digest} is not in ${ref.registry}/${ref.repository}`
            : `${image.reference} is not in ${ref.registry}`,
        );
      } else if (image.digest && head.digest && head.digest !== image.digest) {
        problems.push(
          `${image.reference}: ${ref.registry} answers digest ${head.digest}, recorded ${image.digest}`,
        );
      } else {
        present.push({ reference: image.reference, ...(head.digest ? { digest: head.digest } : {}) });
      }
    } catch (error) {
      problems.push(`${image.reference}: ${(error as Error).message}`);
    }
  }
  return { checked: images.length, present, problems };
}
