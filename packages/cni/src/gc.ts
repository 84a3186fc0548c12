// The GC verb's list of attachments that must be kept. The spec-v1.1.0 tag named the key
// `cni.dev/attachments`; the spec was later corrected to `cni.dev/valid-attachments`, and runtimes send both.
// We read both and always write both.
import { z } from 'zod';
import { CNI_ERRORS } from './catalogue.ts';
import { CniError } from './errors.ts';

export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';
export const LEGACY_ATTACHMENTS_KEY = 'cni.dev/attachments';

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export const GcAttachmentSchema = z.looseObject({ containerID: z.string(), ifname: z.string() });
const GcAttachmentListSchema = z.array(GcAttachmentSchema);

/**
 * The attachments a GC config says are still valid, or undefined when it carries neither key (a caller must not
 * then treat everything as garbage). When both keys are present their union is returned, de-duplicated, in first
 * appearance order: keeping too much is safe, deleting a live attachment is not. Code 7 for a malformed list.
 */
export function readValidAttachments(conf: Record<string, unknown>): GcAttachment[] | undefined {
  const lists: GcAttachment[][] = [];
  for (const key of [VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY]) {
    if (!Object.hasOwn(conf, key)) continue;
    const r = GcAttachmentListSchema.safeParse(conf[key]);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = [key, ...(issue?.path ?? [])].map(String).join('.');
      throw CniError.of(CNI_ERRORS, 'ERR_GC_ATTACHMENTS_INVALID', { key: where }, issue?.message);
    }
    lists.push(r.data.map((a) => ({ containerID: a.containerID, ifname: a.ifname })));
  }
  if (lists.length === 0) return undefined;
  const seen = new Set<string>();
  const out: GcAttachment[] = [];
  for (const a of lists.flat()) {
    const id = JSON.stringify([a.containerID, a.ifname]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(a);
  }
  return out;
}

/** A copy of a plugin config carrying `list` under both GC keys. The input object is not modified. */
export function withValidAttachments<T extends Record<string, unknown>>(
  pluginConf: T,
  list: readonly GcAttachment[],
): T & Record<typeof VALID_ATTACHMENTS_KEY | typeof LEGACY_ATTACHMENTS_KEY, GcAttachment[]> {
  const copy = () => list.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
  return { ...pluginConf, [VALID_ATTACHMENTS_KEY]: copy(), [LEGACY_ATTACHMENTS_KEY]: copy() };
}
