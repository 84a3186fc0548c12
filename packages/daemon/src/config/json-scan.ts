// A single pass over JSON text that JSON.parse cannot give us: the nesting depth (checked before parsing, so a
// hostile "[[[[..." never reaches a recursive consumer) and duplicate object keys (JSON.parse, like Go, keeps the
// last one silently; we keep that result but say so). Iterative, so it cannot overflow the stack itself.

export interface JsonScan {
  /** Deepest nesting seen (1 for `{}`), and where it was first reached. */
  readonly maxDepth: number;
  readonly deepestPath: string;
  /** Dotted paths of keys that occur more than once in the same object (first `limit` of them). */
  readonly duplicateKeys: readonly string[];
}

interface Frame {
  readonly isObject: boolean;
  readonly keys: Set<string>;
  expectKey: boolean;
  lastKey: string;
  readonly path: string;
}

function childPath(parent: Frame | undefined): string {
  if (!parent) return '';
  const seg = parent.isObject ? parent.lastKey : '[]';
  if (parent.path === '') return seg;
  return parent.isObject ? `${parent.path}.${seg}` : `${parent.path}${seg}`;
}

/** Scans `text`; stops descending past `depthLimit` (the caller rejects the file then). Tolerates invalid JSON. */
export function scanJson(text: string, depthLimit: number, duplicateLimit = 10): JsonScan {
  const stack: Frame[] = [];
  const duplicateKeys: string[] = [];
  let maxDepth = 0;
  let deepestPath = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = stack.at(-1);
      if (top?.isObject && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          key = text.slice(i + 1, j);
        }
        if (top.keys.has(key) && duplicateKeys.length < duplicateLimit) {
          duplicateKeys.push(top.path === '' ? key : `${top.path}.${key}`);
        }
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack.at(-1);
      const frame: Frame = {
        isObject: c === 0x7b,
        keys: new Set(),
        expectKey: c === 0x7b,
        lastKey: '',
        path: childPath(parent),
      };
      stack.push(frame);
      if (stack.length > maxDepth) {
        maxDepth = stack.length;
        deepestPath = frame.path;
      }
      if (stack.length > depthLimit) break;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.isObject) top.expectKey = true;
    }
  }
  return { maxDepth, deepestPath: deepestPath === '' ? '(top level)' : deepestPath, duplicateKeys };
}
