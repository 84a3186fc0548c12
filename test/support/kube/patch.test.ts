import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';
import { pods } from './resources.ts';

const base = {
  metadata: { name: 'p', annotations: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    containers: [
      { name: 'c1', image: 'i1', env: [{ name: 'A', value: '1' }] },
      { name: 'c2', image: 'i2' },
    ],
    tolerations: [{ key: 't1' }],
  },
};

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PatchError);
    return err as PatchError;
  }
  throw new Error('expected a PatchError');
}

describe('JSON merge patch (RFC 7386)', () => {
  it('merges maps, deletes on null and replaces lists', () => {
    const out = mergePatch(base, {
      metadata: { annotations: { a: null, c: '3' } },
      spec: { containers: [{ name: 'only' }] },
    });
    expect(out).toEqual({
      metadata: { name: 'p', annotations: { b: '2', c: '3' }, finalizers: ['x'] },
      spec: { containers: [{ name: 'only' }], tolerations: [{ key: 't1' }] },
    });
  });
  it('does not modify its input and a non-object patch replaces the target', () => {
    const before = JSON.stringify(base);
    mergePatch(base, { metadata: { annotations: { a: 'z' } } });
    expect(JSON.stringify(base)).toBe(before);
    expect(mergePatch(base, 'x')).toBe('x');
  });
});

describe('strategic merge patch', () => {
  const smp = (patch: unknown) => strategicMergePatch(base, patch, pods.mergeKeys) as typeof base;

  it('merges maps like a merge patch', () => {
    expect(smp({ metadata: { annotations: { b: null, n: 'v' } } }).metadata.annotations).toEqual({
      a: '1',
      n: 'v',
    });
  });
  it('merges containers by name and their env by name, keeping the others', () => {
    const out = smp({
      spec: {
        containers: [
          { name: 'c1', env: [{ name: 'B', value: '2' }] },
          { name: 'c3', image: 'i3' },
        ],
      },
    });
    expect(out.spec.containers).toEqual([
      {
        name: 'c1',
        image: 'i1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      { name: 'c2', image: 'i2' },
      { name: 'c3', image: 'i3' },
    ]);
  });
  it('deletes a keyed list item with $patch: delete and replaces a list with $patch: replace', () => {
    expect(
      smp({ spec: { containers: [{ name: 'c2', $patch: 'delete' }] } }).spec.containers.map((c) => c.name),
    ).toEqual(['c1']);
    const replaced = smp({ spec: { containers: [{ name: 'n' }, { $patch: 'replace' }] } });
    expect(replaced.spec.containers).toEqual([{ name: 'n' }]);
  });
  it('replaces lists without a merge key, unions finalizers, and honours $deleteFromPrimitiveList', () => {
    expect(smp({ spec: { tolerations: [{ key: 't2' }] } }).spec.tolerations).toEqual([{ key: 't2' }]);
    expect(smp({ metadata: { finalizers: ['y', 'x'] } }).metadata.finalizers).toEqual(['x', 'y']);
    expect(smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }).metadata.finalizers).toEqual(
      [],
    );
  });
  it('replaces a map with $patch: replace and honours $retainKeys', () => {
    expect(smp({ metadata: { annotations: { z: '1', $patch: 'replace' } } }).metadata.annotations).toEqual({
      z: '1',
    });
    const kept = smp({ metadata: { $retainKeys: ['name'], name: 'p' } }).metadata;
    expect(kept).toEqual({ name: 'p' });
  });
  it('rejects unknown directives and keyed items without their key as malformed', () => {
    expect(patchError(() => smp({ metadata: { $patch: 'explode' } })).kind).toBe('malformed');
    expect(patchError(() => smp({ spec: { containers: [{ image: 'x' }] } })).message).toContain(
      'merge key: name',
    );
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies add, replace, remove, move, copy and test with escaped pointers', () => {
    const out = jsonPatch(base, [
      { op: 'add', path: '/metadata/annotations/k8s.v1.cni.cncf.io~1network-status', value: '[]' },
      { op: 'replace', path: '/metadata/annotations/a', value: 'one' },
      { op: 'remove', path: '/metadata/annotations/b' },
      { op: 'add', path: '/spec/containers/-', value: { name: 'c3' } },
      { op: 'add', path: '/spec/containers/0', value: { name: 'c0' } },
      { op: 'copy', from: '/metadata/name', path: '/metadata/labels' },
      { op: 'move', from: '/metadata/labels', path: '/metadata/generateName' },
      { op: 'test', path: '/metadata/annotations/a', value: 'one' },
    ]) as typeof base & { metadata: { generateName: string } };
    expect(out.metadata.annotations).toEqual({ a: 'one', 'k8s.v1.cni.cncf.io/network-status': '[]' });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(out.metadata.generateName).toBe('p');
  });
  it('follows json-patch v4 (kube-apiserver 1.20): replace adds a missing member, a missing value is null', () => {
    const out = jsonPatch(base, [
      { op: 'replace', path: '/metadata/nope', value: 1 },
      { op: 'add', path: '/metadata/empty' },
    ]) as { metadata: Record<string, unknown> };
    expect(out.metadata).toMatchObject({ nope: 1, empty: null });
    expect(
      patchError(() => jsonPatch(base, [{ op: 'replace', path: '/metadata/nope/deeper', value: 1 }])).kind,
    ).toBe('apply');
  });
  it('fails to apply on a missing path, a failed test, a bad index or an unknown op', () => {
    expect(
      patchError(() => jsonPatch(base, [{ op: 'remove', path: '/metadata/labels/x' }])).message,
    ).toContain('missing');
    expect(
      patchError(() => jsonPatch(base, [{ op: 'test', path: '/metadata/name', value: 'q' }])).message,
    ).toBe('testing value /metadata/name failed: test failed');
    expect(
      patchError(() => jsonPatch(base, [{ op: 'add', path: '/spec/containers/9', value: 1 }])).message,
    ).toContain('index');
    expect(patchError(() => jsonPatch(base, [{ op: 'frob', path: '/a' }])).message).toBe(
      'Unexpected kind: frob',
    );
  });
  it('rejects a patch that is not a list as malformed, naming the JSON type as Go does', () => {
    expect(patchError(() => jsonPatch(base, { op: 'add' })).kind).toBe('malformed');
    expect(patchError(() => jsonPatch(base, 7)).message).toBe(
      'json: cannot unmarshal number into Go value of type jsonpatch.Patch',
    );
  });
});
