import { describe, expect, it } from 'vitest';
import { pods } from './resources.ts';
import {
  checkFieldSelector,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import { KubeError } from './status.ts';
import type { KubeObject } from './types.ts';

const pod = (nodeName: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name: 'p', namespace: 'ns1', labels },
  spec: { nodeName },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
});

function status400(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeError);
    const e = err as KubeError;
    expect(e.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    return e.status.message ?? '';
  }
  throw new Error('expected a 400');
}

describe('field selectors', () => {
  it('parses =, == and != terms and matches pod fields', () => {
    const reqs = parseFieldSelector('spec.nodeName=n1,metadata.namespace==ns1,status.phase!=Failed');
    expect(reqs).toEqual([
      { field: 'spec.nodeName', op: '=', value: 'n1' },
      { field: 'metadata.namespace', op: '=', value: 'ns1' },
      { field: 'status.phase', op: '!=', value: 'Failed' },
    ]);
    checkFieldSelector(reqs, pods.fields);
    expect(matchFields(reqs, pod('n1'), pods.fields)).toBe(true);
    expect(matchFields(reqs, pod('n2'), pods.fields)).toBe(false);
  });

  it('an empty selector matches everything and an empty value matches an unset field', () => {
    expect(parseFieldSelector('  ')).toEqual([]);
    const unscheduled = parseFieldSelector('spec.nodeName=');
    expect(matchFields(unscheduled, pod(''), pods.fields)).toBe(true);
    expect(matchFields(unscheduled, pod('n1'), pods.fields)).toBe(false);
  });

  it('unescapes \\, \\= and \\\\ in values', () => {
    expect(parseFieldSelector('metadata.name=a\\,b\\=c\\\\d')[0]?.value).toBe('a,b=c\\d');
  });

  it('selects status.podIP on the first of status.podIPs', () => {
    expect(matchFields(parseFieldSelector('status.podIP=10.0.0.1'), pod('n'), pods.fields)).toBe(true);
    expect(matchFields(parseFieldSelector('status.podIP=fd00::1'), pod('n'), pods.fields)).toBe(false);
  });

  it('rejects a field the resource does not index with the server message', () => {
    const msg = status400(() => checkFieldSelector(parseFieldSelector('spec.hostname=x'), pods.fields));
    expect(msg).toBe('field label not supported: spec.hostname');
  });

  it('rejects malformed selectors and bad escapes with 400', () => {
    expect(status400(() => parseFieldSelector('spec.nodeName'))).toContain(
      "can't understand 'spec.nodeName'",
    );
    expect(status400(() => parseFieldSelector('metadata.name=a\\x'))).toContain('invalid escape sequence');
    expect(status400(() => parseFieldSelector('=x'))).toContain("can't understand");
  });
});

describe('label selectors', () => {
  it('supports equality, inequality, set and existence terms', () => {
    const labels = { app: 'web', tier: 'front', n: '5' };
    const cases: Array<[string, boolean]> = [
      ['app=web', true],
      ['app==web', true],
      ['app!=web', false],
      ['app in (web,db)', true],
      ['app notin (web)', false],
      ['tier', true],
      ['!tier', false],
      ['!missing', true],
      ['missing!=x', true],
      ['app=web,tier=back', false],
      ['n>4', true],
      ['n<5', false],
    ];
    for (const [sel, want] of cases) expect(matchLabels(parseLabelSelector(sel), labels), sel).toBe(want);
  });

  it('rejects invalid keys, values and operators with 400', () => {
    expect(status400(() => parseLabelSelector('app=a b'))).toContain('unable to parse requirement');
    expect(status400(() => parseLabelSelector('-bad=x'))).toContain('invalid label key');
    expect(status400(() => parseLabelSelector(`k=${'v'.repeat(64)}`))).toContain('invalid label value');
    expect(status400(() => parseLabelSelector('n>x'))).toContain('must be an integer');
  });
});
