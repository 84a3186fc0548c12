// Turning what a finished plugin process left behind (exit status, stdout, stderr) into a JSON object or a
// CniError. Pure: exec.ts feeds it, unit tests feed it directly.
//
// Decisions:
// - Exit 0: stdout is empty (DEL, CHECK, GC, STATUS print nothing) or one JSON object. Anything else, including
//   invalid UTF-8, is code 6 with the output excerpt and stderr in details.
// - Non-zero exit: when stdout is the plugin's error JSON ({code, msg, details}), that error is returned as is:
//   code, msg and details untouched (a code that is missing, zero or not a positive integer becomes 999, since a
//   CNI error always needs a non-zero code). Otherwise code 999 ("netplugin failed", as libcni words it) with
//   stderr, and any stdout, in details.
// - stderr is never dropped: it is in details when the plugin said nothing better, and always on
//   PluginExecError.stderr (and in ExecPluginResult.stderr on success) for the caller's logs.
import { z } from 'zod';
import { CNI_ERRORS } from './catalogue.ts';
import { CniCode, CniError } from './errors.ts';
import type { CniCommand } from './exec-env.ts';

/** How much of a plugin's stdout/stderr goes into an error's details. */
export const EXCERPT_BYTES = 4096;

/** A CniError raised by a plugin run, with everything needed to log it. */
export class PluginExecError extends CniError {
  readonly pluginPath: string;
  readonly command: CniCommand;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;

  constructor(base: CniError, info: PluginRunInfo) {
    super(base.code, base.msg, base.details, {
      ...(base.id === undefined ? {} : { id: base.id }),
      ...(base.cause === undefined ? {} : { cause: base.cause }),
    });
    this.pluginPath = info.pluginPath;
    this.command = info.command;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    this.stderr = info.stderr;
  }
}

export interface PluginRunInfo {
  pluginPath: string;
  command: CniCommand;
  exitCode: number | null;
  signal: string | null;
  stderr: string;
}

export interface FinishedRun extends Omit<PluginRunInfo, 'stderr'> {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

const PluginErrorJsonSchema = z.looseObject({
  cniVersion: z.string().optional(),
  code: z.unknown().optional(),
  msg: z.string(),
  details: z.string().optional(),
});

function excerpt(text: string): string {
  const t = text.trim();
  return t.length > EXCERPT_BYTES ? `${t.slice(0, EXCERPT_BYTES)}... (${t.length} chars)` : t;
}

/** Lenient text for logs and details: invalid UTF-8 becomes U+FFFD rather than an exception. */
export function decodeLenient(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses stdout strictly (fatal UTF-8, JSON, must be an object); undefined when it is only whitespace. */
function parseStdout(stdout: Uint8Array): { value?: Record<string, unknown>; error?: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(stdout);
  } catch {
    return { error: 'stdout is not valid UTF-8' };
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `stdout is not JSON (${(err as Error).message})` };
  }
  if (!isPlainObject(value)) return { error: 'stdout is JSON but not an object' };
  return { value };
}

function describeExit(run: FinishedRun): string {
  return run.signal ? `killed by signal ${run.signal}` : `exit status ${run.exitCode}`;
}

function joinDetails(parts: Record<string, string>): string | undefined {
  const kept = Object.entries(parts).filter(([, v]) => v !== '');
  if (kept.length === 0) return undefined;
  return kept.map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** The plugin's own error JSON as a CniError, or undefined when stdout is not one. */
function pluginError(value: Record<string, unknown>): CniError | undefined {
  const r = PluginErrorJsonSchema.safeParse(value);
  if (!r.success) return undefined;
  const { code, msg, details } = r.data;
  const usable = typeof code === 'number' && Number.isSafeInteger(code) && code > 0;
  return new CniError(usable ? code : CniCode.Internal, msg, details);
}

/**
 * Interprets one finished plugin run. Returns the decoded JSON object (undefined for empty stdout) on success;
 * throws PluginExecError otherwise.
 */
export function decodePluginOutput(run: FinishedRun): Record<string, unknown> | undefined {
  const stderr = decodeLenient(run.stderr);
  const info: PluginRunInfo = { ...run, stderr };
  const fail = (base: CniError): never => {
    throw new PluginExecError(base, info);
  };
  const parsed = parseStdout(run.stdout);
  const ok = run.exitCode === 0 && run.signal === null;

  if (ok) {
    if (parsed.error !== undefined) {
      fail(
        CniError.of(
          CNI_ERRORS,
          'ERR_PLUGIN_OUTPUT_UNDECODABLE',
          { path: run.pluginPath, command: run.command },
          joinDetails({
            error: parsed.error,
            stdout: excerpt(decodeLenient(run.stdout)),
            stderr: excerpt(stderr),
          }),
        ),
      );
    }
    return parsed.value;
  }

  const own = parsed.value ? pluginError(parsed.value) : undefined;
  if (own) fail(own);
  const stdoutText = excerpt(decodeLenient(run.stdout));
  const reason =
    stdoutText === ''
      ? describeExit(run)
      : `${describeExit(run)}, and its output is not an error JSON (${parsed.error ?? 'no "msg"'})`;
  return fail(
    CniError.of(
      CNI_ERRORS,
      'ERR_PLUGIN_FAILED',
      { reason },
      joinDetails({ stderr: excerpt(stderr), stdout: stdoutText }) ?? 'no error message',
    ),
  );
}

/** A PluginExecError for a run we stopped ourselves (timeout, output cap), keeping what stderr said. */
export function stoppedRunError(base: CniError, run: FinishedRun): PluginExecError {
  const stderr = decodeLenient(run.stderr);
  const withStderr =
    stderr.trim() === ''
      ? base
      : new CniError(base.code, base.msg, `stderr: ${excerpt(stderr)}`, {
          ...(base.id === undefined ? {} : { id: base.id }),
        });
  return new PluginExecError(withStderr, { ...run, stderr });
}
