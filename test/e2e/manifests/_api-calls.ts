// Finds the Kubernetes API calls in multus-daemon's source, so the ClusterRole can be derived from the code. The
// daemon talks to the API server only through its KubeClient (kube/http.ts): `client.request('<METHOD>', <path>)`
// and `client.watch(<path>, ...)`, and through informers, which list and watch the collection given as `path:`
// to `new TrimmedInformer(...)`. Each call becomes a key `<METHOD> <path>` with `{}` for every interpolated
// segment (`PATCH /api/v1/namespaces/{}/pods/{}/status`); string constants (`NAD_GROUP`) are resolved.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface SourceFile {
  /** Path relative to the daemon's src dir, e.g. `kube/pods.ts`. */
  path: string;
  text: string;
}

export interface FoundCall {
  /** `GET /api/v1/pods`, `WATCH /api/v1/pods`, `POST /api/v1/namespaces/{}/events`, ... */
  key: string;
  where: string;
}

export interface ScanResult {
  calls: FoundCall[];
  /** Things the scan refuses: calls outside kube/, paths it cannot resolve, other API clients. */
  problems: string[];
}

/** The transport itself (node:http requests with computed methods): not a caller. */
const TRANSPORT = 'kube/http.ts';
/** The informer's own list and watch of `this.#opts.path`: the paths come from each `new TrimmedInformer`. */
const INFORMER = 'kube/informer.ts';
const INFORMER_PATH = 'this.#opts.path';

/** The daemon's non-test TypeScript sources. */
export function daemonSources(srcDir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        out.push({ path: relative(srcDir, p), text: readFileSync(p, 'utf8') });
      }
    }
  };
  walk(srcDir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** The arguments of the call whose `(` is at `open`, split at top-level commas (strings and nesting kept). */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') {
      if (--depth === 0) {
        args.push(text.slice(start, i).trim());
        return args.filter((a) => a !== '');
      }
    } else if (ch === ',' && depth === 1) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return args;
}

/** The source text of property `name` in an object literal (up to the next top-level `,` or `}`). */
function propertyValue(obj: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[{,\\s])${name}\\s*:\\s*`).exec(obj);
  if (!m) return undefined;
  let depth = 0;
  let quote: string | undefined;
  const from = m.index + m[0].length;
  for (let i = from; i < obj.length; i++) {
    const ch = obj[i] as string;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if ((ch === ')' || ch === '}' || ch === ']') && depth > 0) depth--;
    else if ((ch === ',' || ch === '}') && depth === 0) return obj.slice(from, i).trim();
  }
  return obj.slice(from).trim();
}

function constants(files: readonly SourceFile[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of files) {
    for (const c of f.text.matchAll(/\bconst\s+([A-Z][A-Z0-9_]*)\s*=\s*'([^'\n]*)'/g)) {
      m.set(c[1] as string, c[2] as string);
    }
  }
  return m;
}

/** A path expression from source as a key path (`{}` per interpolation), or undefined when it is not literal. */
function resolvePath(expr: string, consts: Map<string, string>): string | undefined {
  const e = expr.trim();
  const quoted = /^(['"])(.*)\1$/s.exec(e);
  if (quoted) return quoted[2];
  const tpl = /^`(.*)`$/s.exec(e);
  if (tpl)
    return (tpl[1] as string).replace(
      /\$\{\s*([^}]*)\}/g,
      (_, inner: string) => consts.get(inner.trim()) ?? '{}',
    );
  return /^[A-Z][A-Z0-9_]*$/.test(e) ? consts.get(e) : undefined;
}

export function scanApiCalls(files: readonly SourceFile[]): ScanResult {
  const consts = constants(files.filter((f) => f.path.startsWith('kube/')));
  const calls: FoundCall[] = [];
  const problems: string[] = [];

  for (const f of files) {
    const inKube = f.path.startsWith('kube/');
    const at = (index: number) => `${f.path}:${lineOf(f.text, index)}`;
    // Any other way to reach the API server would escape the table.
    for (const m of f.text.matchAll(/from '@kubernetes\/client-node'|\bmakeApiClient\s*\(/g)) {
      problems.push(`${at(m.index)}: @kubernetes/client-node in use: its calls are not covered by the scan`);
    }
    if (f.path === TRANSPORT) continue;

    // In kube/ every request()/watch() call counts, whatever its receiver; elsewhere, calls on a `client`
    // (fs.watch and friends are not API calls).
    const callRe = inKube
      ? /\.(request|watch)\b\s*(?:<[^>()]*>)?\s*\(/g
      : /\bclient\s*\.\s*(request|watch)\b\s*(?:<[^>()]*>)?\s*\(/g;
    for (const m of f.text.matchAll(callRe)) {
      const where = at(m.index);
      const args = callArguments(f.text, m.index + m[0].length - 1);
      let method: string;
      let pathExpr: string;
      if (m[1] === 'request') {
        const lit = /^'([A-Z]+)'$/.exec(args[0] ?? '');
        if (!lit) {
          problems.push(`${where}: request() with a method that is not a literal: ${args[0]}`);
          continue;
        }
        method = lit[1] as string;
        pathExpr = args[1] ?? '';
      } else {
        method = 'WATCH';
        pathExpr = args[0] ?? '';
      }
      if (!inKube) {
        problems.push(`${where}: API call ${method} outside kube/`);
        continue;
      }
      if (f.path === INFORMER && pathExpr === INFORMER_PATH) {
        if (method !== 'GET' && method !== 'WATCH') problems.push(`${where}: informer ${method} of its path`);
        continue;
      }
      const path = resolvePath(pathExpr, consts);
      if (path === undefined) problems.push(`${where}: cannot resolve the path ${pathExpr}`);
      else calls.push({ key: `${method} ${path}`, where });
    }

    // Informers: a list (GET) and a watch of their collection path.
    for (const m of f.text.matchAll(/new\s+TrimmedInformer\s*(?:<[^>()]*>)?\s*\(/g)) {
      const where = at(m.index);
      const args = callArguments(f.text, m.index + m[0].length - 1);
      const pathExpr = propertyValue(args[0] ?? '', 'path');
      if (!inKube) {
        problems.push(`${where}: informer outside kube/`);
        continue;
      }
      const path = pathExpr === undefined ? undefined : resolvePath(pathExpr, consts);
      if (path === undefined) {
        problems.push(`${where}: cannot resolve the informer's path ${pathExpr}`);
        continue;
      }
      calls.push({ key: `GET ${path}`, where }, { key: `WATCH ${path}`, where });
    }
  }
  return { calls, problems };
}
