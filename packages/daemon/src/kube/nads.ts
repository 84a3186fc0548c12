// NetworkAttachmentDefinitions of every namespace, validated and trimmed as they arrive from the watch.
import { type Nad, NadSchema } from '@multus-ts/netspec';
import type { KubeApis } from './client.ts';
import { type KubeObject, TrimmedInformer } from './informer.ts';

export const NAD_GROUP = 'k8s.cni.cncf.io';
export const NAD_VERSION = 'v1';
export const NAD_PLURAL = 'network-attachment-definitions';

export function trimNad(obj: KubeObject): Nad | undefined {
  const parsed = NadSchema.safeParse(obj);
  if (!parsed.success) return undefined;
  const md = parsed.data.metadata;
  const spec = parsed.data.spec;
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      name: md.name,
      ...(md.namespace ? { namespace: md.namespace } : {}),
      ...(md.uid ? { uid: md.uid } : {}),
      ...(md.annotations ? { annotations: md.annotations } : {}),
    },
    ...(spec ? { spec: spec.config === undefined ? {} : { config: spec.config } } : {}),
  };
}

export interface NadDirectoryOptions {
  apis: KubeApis;
  onApiRequest?: (verb: string, resource: string, code: number | 'error') => void;
}

export class NadDirectory {
  readonly informer: TrimmedInformer<Nad>;

  constructor(opts: NadDirectoryOptions) {
    this.informer = new TrimmedInformer<Nad>({
      name: 'network-attachment-definitions',
      client: opts.apis.client,
      path: `/apis/${NAD_GROUP}/${NAD_VERSION}/${NAD_PLURAL}`,
      trim: trimNad,
      onRequest: (verb, code) => opts.onApiRequest?.(verb, NAD_PLURAL, code),
    });
  }

  get(namespace: string, name: string): Nad | undefined {
    return this.informer.get(namespace, name);
  }
}
