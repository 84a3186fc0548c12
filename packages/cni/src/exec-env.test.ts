import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniError } from './errors.ts';
import { buildPluginEnv, CNI_ENV_NAMES, formatCniArgs, formatCniPath } from './exec-env.ts';

function errorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected a CniError');
}

const source = {
  PATH: '/usr/sbin:/usr/bin',
  HOME: '/root',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  SECRET_TOKEN: 'do-not-leak',
  CNI_COMMAND: 'EVIL',
  HTTP_PROXY: 'http://proxy:3128',
};

describe('buildPluginEnv', () => {
  it('holds exactly the six CNI variables plus PATH by default', () => {
    const env = buildPluginEnv({
      command: 'ADD',
      containerId: 'abc',
      netns: '/run/netns/x',
      ifName: 'eth0',
      args: [['K8S_POD_NAME', 'p']],
      path: ['/opt/cni/bin', '/usr/lib/cni'],
      source,
    });
    expect(env).toEqual({
      PATH: '/usr/sbin:/usr/bin',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'abc',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAME=p',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
  });

  it('sets every CNI variable, empty when the command does not use it', () => {
    const env = buildPluginEnv({ command: 'VERSION', source: {} });
    expect(Object.keys(env).sort()).toEqual([...CNI_ENV_NAMES].sort());
    expect(env['CNI_CONTAINERID']).toBe('');
    expect(env['CNI_PATH']).toBe('');
  });

  it('passes through only the names given, leaves out unset ones, and never lets them override CNI_*', () => {
    const env = buildPluginEnv({
      command: 'DEL',
      passEnv: ['HTTP_PROXY', 'NOT_SET', 'CNI_COMMAND'],
      source,
    });
    expect(env['HTTP_PROXY']).toBe('http://proxy:3128');
    expect(env['PATH']).toBeUndefined();
    expect('NOT_SET' in env).toBe(false);
    expect(env['CNI_COMMAND']).toBe('DEL');
    expect(env['SECRET_TOKEN']).toBeUndefined();
  });

  it.each([
    ['an empty name', ['']],
    ['a name with =', ['A=B']],
    ['a name with NUL', ['A\0']],
  ])('refuses a pass-through list with %s (code 4)', (_l, passEnv) => {
    const e = errorOf(() => buildPluginEnv({ command: 'ADD', passEnv, source }));
    expect(e.code).toBe(4);
  });

  it.each([
    ['containerId', { containerId: 'a\0b' }, 'CNI_CONTAINERID'],
    ['netns', { netns: '/run/netns/\0' }, 'CNI_NETNS'],
    ['ifName', { ifName: 'eth\0' }, 'CNI_IFNAME'],
    ['a passed-through value', { passEnv: ['X'], source: { X: 'a\0' } }, 'X'],
  ])('refuses NUL in %s (code 4, naming the variable)', (_l, extra, name) => {
    const e = errorOf(() => buildPluginEnv({ command: 'ADD', source: {}, ...extra }));
    expect(e.code).toBe(4);
    expect(e.msg).toContain(name);
  });
});

describe('formatCniArgs', () => {
  it('joins pairs as k=v;k=v and passes a ready string through', () => {
    expect(formatCniArgs(undefined)).toBe('');
    expect(formatCniArgs([])).toBe('');
    expect(
      formatCniArgs([
        ['IgnoreUnknown', 'true'],
        ['K8S_POD_NAMESPACE', 'default'],
        ['IP', '10.1.1.11,10.1.1.12'],
        ['URL', 'a=b'],
      ]),
    ).toBe('IgnoreUnknown=true;K8S_POD_NAMESPACE=default;IP=10.1.1.11,10.1.1.12;URL=a=b');
    expect(formatCniArgs('IgnoreUnknown=1;A=b')).toBe('IgnoreUnknown=1;A=b');
  });

  it.each([
    ['an empty key', [['', 'v']]],
    ['a key with =', [['A=B', 'v']]],
    ['a key with ;', [['A;B', 'v']]],
    ['a value with ; (would smuggle a pair in)', [['K8S_POD_NAME', 'x;K8S_POD_NAMESPACE=kube-system']]],
    ['NUL in a value', [['A', 'b\0']]],
    ['a non-string value', [['A', 1]]],
  ])('refuses %s (code 4)', (_l, pairs) => {
    const e = errorOf(() => formatCniArgs(pairs as unknown as [string, string][]));
    expect(e.code).toBe(4);
    expect(e.msg).toContain('CNI_ARGS');
  });

  it('refuses NUL in a ready string', () => {
    expect(errorOf(() => formatCniArgs('A=b\0')).code).toBe(4);
  });

  it('round-trips every safe pair list through the k=v;k=v form (property)', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
    const value = fc.string({ maxLength: 12 }).filter((s) => !/[;\0]/.test(s));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 6 }), (pairs) => {
        const parsed = formatCniArgs(pairs)
          .split(';')
          .map((p) => {
            const i = p.indexOf('=');
            return [p.slice(0, i), p.slice(i + 1)];
          });
        expect(parsed).toEqual(pairs);
      }),
    );
  });
});

describe('formatCniPath', () => {
  it('joins dirs with colons', () => {
    expect(formatCniPath(['/a', '/b'])).toBe('/a:/b');
    expect(formatCniPath('/x:/y')).toBe('/x:/y');
    expect(formatCniPath(undefined)).toBe('');
  });

  it('refuses a dir containing the separator or NUL (code 4)', () => {
    expect(errorOf(() => formatCniPath(['/a:/b'])).code).toBe(4);
    expect(errorOf(() => formatCniPath(['/a\0'])).code).toBe(4);
  });
});
