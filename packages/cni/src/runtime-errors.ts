// Errors of conflist execution: naming the plugin that failed while keeping its code, and reporting several
// errors together (GC continues past failures and returns them all).
import { CniError } from './errors.ts';
import { PluginExecError } from './exec-decode.ts';

/** `type="bridge"` or `type="bridge" name="x"`, as libcni describes a plugin in its errors. */
export function describePlugin(plugin: Readonly<Record<string, unknown>>): string {
  const type = JSON.stringify(String(plugin['type'] ?? ''));
  const name = plugin['name'];
  return typeof name === 'string' && name !== ''
    ? `type=${type} name=${JSON.stringify(name)}`
    : `type=${type}`;
}

/** Re-labels an error with a prefix; code, details, and the plugin run info (stderr) survive. */
export function prefixError(err: unknown, prefix: string): CniError {
  const base = CniError.wrap(err);
  const msg = `${prefix}: ${base.msg}`;
  const opts = { ...(base.id === undefined ? {} : { id: base.id }), cause: base };
  const relabelled = new CniError(base.code, msg, base.details, opts);
  return base instanceof PluginExecError ? new PluginExecError(relabelled, base) : relabelled;
}

/** `plugin type="x" name="y" failed (add): <the plugin's message>`, keeping the plugin's code. */
export function pluginFailed(
  plugin: Readonly<Record<string, unknown>>,
  op: 'add' | 'check' | 'delete',
  err: unknown,
): CniError {
  return prefixError(err, `plugin ${describePlugin(plugin)} failed (${op})`);
}

/**
 * Several errors reported as one. Its code is the first error's (so a lone plugin failure keeps its code), its
 * message lists every error, and `errors` holds them all.
 */
export class CniErrorList extends CniError {
  readonly errors: readonly CniError[];

  constructor(errors: readonly CniError[]) {
    const first = errors[0];
    if (!first) throw new TypeError('CniErrorList needs at least one error');
    const msg = errors.length === 1 ? first.msg : errors.map((e) => e.msg).join('; ');
    const details = errors
      .map((e) => e.details)
      .filter((d): d is string => d !== undefined && d !== '')
      .join('\n');
    super(first.code, msg, details === '' ? undefined : details, { cause: first });
    this.errors = errors;
  }
}
