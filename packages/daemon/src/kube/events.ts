// Kubernetes Events on pods (source component "multus", as upstream): AddedInterface and NoNetworkFound.
// Recording is fire-and-forget with a bounded backlog: an event must never delay or fail a CNI call.
import { apiStatus, type KubeApis, seg } from './client.ts';
import type { PodInfo } from './pods.ts';

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class EventRecorder {
  readonly #apis: KubeApis;
  readonly #host: string;
  readonly #maxInFlight: number;
  readonly #onApiRequest: ((verb: string, resource: string, code: number | 'error') => void) | undefined;
  #inFlight = new Set<Promise<void>>();
  dropped = 0;

  constructor(
    apis: KubeApis,
    host: string,
    opts: {
      maxInFlight?: number;
      onApiRequest?: (verb: string, resource: string, code: number | 'error') => void;
    } = {},
  ) {
    this.#apis = apis;
    this.#host = host;
    this.#maxInFlight = opts.maxInFlight ?? 64;
    this.#onApiRequest = opts.onApiRequest;
  }

  record(pod: Pick<PodInfo, 'namespace' | 'name' | 'uid' | 'resourceVersion'>, ev: PodEvent): void {
    if (this.#inFlight.size >= this.#maxInFlight) {
      this.dropped++;
      return;
    }
    const now = new Date();
    const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
    const body = {
      metadata: {
        name: `${pod.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`,
        namespace: pod.namespace,
      },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: pod.namespace,
        name: pod.name,
        uid: pod.uid,
        resourceVersion: pod.resourceVersion,
      },
      reason: ev.reason,
      message: ev.message,
      type: ev.type,
      source: { component: 'multus', ...(this.#host ? { host: this.#host } : {}) },
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
      reportingComponent: 'multus',
      reportingInstance: this.#host,
    };
    const p = this.#apis.client
      .request('POST', `/api/v1/namespaces/${seg(pod.namespace)}/events`, { body })
      .then(
        () => this.#onApiRequest?.('create', 'events', 201),
        (err: unknown) => this.#onApiRequest?.('create', 'events', apiStatus(err) ?? 'error'),
      )
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Waits for the events being sent (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
