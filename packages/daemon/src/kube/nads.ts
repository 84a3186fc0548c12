// NetworkAttachmentDefinitions of every namespace, validated and trimmed as they arrive from the watch.
import type * as k8s from '@kubernetes/client-node';
import { type Nad, NadSchema } from '@multus-ts/netspec';
import { apiStatus, type KubeApis } from './client.ts';
import { TrimmedInformer } from './informer.ts';

export const NAD_GROUP = 'k8s.cni.cncf.io';
export const NAD_VERSION = 'v1';
export const NAD_PLURAL = 'network-attachment-definitions';

export function trimNad(obj: k8s.KubernetesObject): Nad | undefined {
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
      path: `/apis/${NAD_GROUP}/${NAD_VERSION}/${NAD_PLURAL}`,
      watch: opts.apis.watch,
      list: async () => {
        try {
          const list = (await opts.apis.custom.listClusterCustomObject({
            group: NAD_GROUP,
            version: NAD_VERSION,
            plural: NAD_PLURAL,
          })) as k8s.KubernetesListObject<k8s.KubernetesObject>;
          opts.onApiRequest?.('list', NAD_PLURAL, 200);
          return list;
        } catch (err) {
          opts.onApiRequest?.('list', NAD_PLURAL, apiStatus(err) ?? 'error');
          throw err;
        }
      },
      trim: trimNad,
    });
  }

  get(namespace: string, name: string): Nad | undefined {
    return this.informer.get(namespace, name);
  }
}
