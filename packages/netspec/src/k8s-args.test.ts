import type { CniError } from '@multus-ts/cni';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRuntimeConfig, parseCniArgs, parseK8sArgs, requirePodIdentity } from './k8s-args.ts';

function fails(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a failure');
}

describe('CNI_ARGS', () => {
  const typical =
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=samplepod;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=0b5f-11';
  it('parses what Kubernetes runtimes send', () => {
    expect(parseK8sArgs(typical)).toEqual({
      ignoreUnknown: true,
      podNamespace: 'default',
      podName: 'samplepod',
      podInfraContainerId: 'abc123',
      podUid: '0b5f-11',
      pairs: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAMESPACE', 'default'],
        ['K8S_POD_NAME', 'samplepod'],
        ['K8S_POD_INFRA_CONTAINER_ID', 'abc123'],
        ['K8S_POD_UID', '0b5f-11'],
      ],
    });
  });
  it('tolerates a trailing ";", blanks, IgnoreUnknown=true, unknown keys and "=" inside values', () => {
    const a = parseK8sArgs(' IgnoreUnknown=true ; K8S_POD_NAME=p ;FOO=a=b;;');
    expect(a.ignoreUnknown).toBe(true);
    expect(a.podName).toBe('p');
    expect(a.pairs).toContainEqual(['FOO', 'a=b']);
    expect(parseK8sArgs(undefined)).toEqual({ ignoreUnknown: false, pairs: [] });
    expect(parseK8sArgs('')).toEqual({ ignoreUnknown: false, pairs: [] });
  });
  it.each([
    ['K8S_POD_NAME', 'a pair without "="'],
    ['K8S POD=x', 'a key that is not an identifier'],
    ['"K"=x', 'a quoted key'],
    ['K=a\nb', 'a control character in a value'],
    ['K8S_POD_NAMESPACE=../etc', 'a namespace that is not a DNS label'],
    ['K8S_POD_NAME=a/b', 'a pod name with a slash'],
    ['IP=10.0.0', 'an IP that is not one'],
    [`K=${'x'.repeat(70000)}`, 'an oversized value'],
  ])('refuses %j (%s) with code 4', (raw) => {
    const e = fails(() => parseK8sArgs(raw));
    expect(e.id).toBe('ERR_K8S_ARGS_INVALID');
    expect(e.code).toBe(4);
  });
  it('requirePodIdentity names the missing key with code 4', () => {
    expect(requirePodIdentity(parseK8sArgs(typical))).toEqual({ namespace: 'default', name: 'samplepod' });
    const e = fails(() => requirePodIdentity(parseK8sArgs('K8S_POD_NAMESPACE=x')));
    expect(e.code).toBe(4);
    expect(e.msg).toBe('CNI_ARGS lacks K8S_POD_NAME');
  });
  it('property: any string either parses into identifier keys or fails with code 4', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          for (const [k, v] of parseCniArgs(s)) {
            expect(k).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
            expect(v).not.toContain(';');
          }
        } catch (e) {
          expect((e as CniError).code).toBe(4);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('runtimeConfig from Go runtimes', () => {
  it('spells known keys canonically, including inside portMappings, bandwidth and dns', () => {
    expect(
      normalizeRuntimeConfig({
        PortMappings: [{ HostPort: 80, ContainerPort: 8080, Protocol: 'tcp', HostIP: '' }],
        Bandwidth: { IngressRate: 1, egressburst: 2 },
        DNS: { Servers: ['10.96.0.10'], Searches: ['svc'] },
        cgroupPath: '/kubepods',
        'io.kubernetes.cri.pod-annotations': { a: 'b' },
      }),
    ).toEqual({
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp', hostIP: '' }],
      bandwidth: { ingressRate: 1, egressBurst: 2 },
      dns: { servers: ['10.96.0.10'], searches: ['svc'] },
      cgroupPath: '/kubepods',
      'io.kubernetes.cri.pod-annotations': { a: 'b' },
    });
  });
  it('ignores a non-object and leaves odd values as sent', () => {
    expect(normalizeRuntimeConfig(null)).toEqual({});
    expect(normalizeRuntimeConfig([1])).toEqual({});
    expect(normalizeRuntimeConfig({ portMappings: 'x', bandwidth: [1] })).toEqual({
      portMappings: 'x',
      bandwidth: [1],
    });
  });
});
