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
  it('parses =, == and != terms (sorted, as the server sorts them) and matches pod fields', () => {
    const reqs = parseFieldSelector('spec.nodeName=n1,metadata.namespace==ns1,status.phase!=Failed');
    expect(reqs).toEqual([
      { field: 'metadata.namespace', op: '=', value: 'ns1' },
      { field: 'spec.nodeName', op: '=', value: 'n1' },
      { field: 'status.phase', op: '!=', value: 'Failed' },
    ]);
    checkFieldSelector(reqs, pods.fields);
    expect(matchFields(reqs, pod('n1'), pods.fields)).toBe(true);
    expect(matchFields(reqs, pod('n2'), pods.fields)).toBe(false);
  });

  it('an empty selector matches everything and an empty value matches an unset field', () => {
    expect(parseFieldSelector('')).toEqual([]);
    // Empty terms are skipped (a trailing comma is fine); blanks are not trimmed.
    expect(parseFieldSelector('spec.nodeName=n1,')).toEqual([
      { field: 'spec.nodeName', op: '=', value: 'n1' },
    ]);
    expect(status400(() => parseFieldSelector('  '))).toBe("invalid selector: '  '; can't understand '  '");
    const spaced = parseFieldSelector(' spec.nodeName=n1');
    expect(status400(() => checkFieldSelector(spaced, pods.fields))).toBe(
      'field label not supported:  spec.nodeName',
    );
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
    expect(status400(() => parseFieldSelector('metadata.name=a\\x'))).toBe(
      'invalid field selector: invalid escape sequence: \\x',
    );
    expect(status400(() => parseFieldSelector('metadata.name=a\\'))).toBe(
      'invalid field selector: invalid escape sequence: \\',
    );
    // Split at the first operator from the left; an unescaped = in the value is reported by its code point.
    expect(status400(() => parseFieldSelector('a=b!=c'))).toBe(
      'invalid field selector: unescaped character in value: 61',
    );
    // An empty field name parses; it is the field lookup that refuses it.
    expect(status400(() => checkFieldSelector(parseFieldSelector('=x'), pods.fields))).toBe(
      'field label not supported: ',
    );
    expect(status400(() => checkFieldSelector(parseFieldSelector('zz=1,aa=2'), pods.fields))).toBe(
      'field label not supported: aa',
    );
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

  it('accepts what the server accepts: empty value sets, keywords as keys, blanks', () => {
    expect(parseLabelSelector('  ')).toEqual([]);
    expect(parseLabelSelector('a in (,)')).toEqual([{ key: 'a', op: 'in', values: [''] }]);
    expect(parseLabelSelector('a in ()')).toEqual([{ key: 'a', op: 'in', values: [''] }]);
    expect(parseLabelSelector('in')).toEqual([{ key: 'in', op: 'exists', values: [] }]);
    expect(parseLabelSelector('a>1,b')).toEqual([
      { key: 'a', op: 'gt', values: ['1'] },
      { key: 'b', op: 'exists', values: [] },
    ]);
  });

  it('rejects invalid keys, values and operators with 400 in the server wording (kube-apiserver 1.20)', () => {
    const cases: Array<[string, string]> = [
      ['app=a b', "found 'b', expected: ',' or 'end of string'"],
      ['a===', "unable to parse requirement: found '=', expected: identifier"],
      ['a in (', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
      ['!', "unable to parse requirement: found '', expected: identifier"],
      ['a,,b', "found ',', expected: identifier after ','"],
      [',a', "found ',', expected: !, identifier, or 'end of string'"],
      ['a=b=c', "found '=', expected: ',' or 'end of string'"],
      ['!a=b', "found '=', expected: ',' or 'end of string'"],
      ['a notin b', "unable to parse requirement: found 'b' expected: '('"],
      ['a in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
      ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
      ['a!', "unable to parse requirement: found '!', expected: '=', '!=', '==', 'in', notin'"],
      ['Bad Key=v', "unable to parse requirement: found 'Key', expected: '=', '!=', '==', 'in', notin'"],
      ['n>x', "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"],
      [
        `k=${'v'.repeat(64)}`,
        `unable to parse requirement: invalid label value: "${'v'.repeat(64)}": at key: "k": must be no more than 63 characters`,
      ],
      [
        '-bad=x',
        `unable to parse requirement: invalid label key "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      ],
      [
        'n>-5',
        `unable to parse requirement: invalid label value: "-5": at key: "n": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      ],
      [
        'a/b/c',
        `unable to parse requirement: invalid label key "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
      ],
    ];
    for (const [sel, msg] of cases)
      expect(
        status400(() => parseLabelSelector(sel)),
        sel,
      ).toBe(msg);
  });
});
