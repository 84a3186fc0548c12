// Shared behaviour of the fake CNI plugins. Each fake is bundled with this file into one standalone executable
// by install.ts, so nothing here may import anything but node: builtins.
//
// Every fake reads its config from stdin, appends one JSON line describing the call to the file named by the
// FAKE_CNI_RECORD environment variable (when the runtime passes it through), then behaves as its kind says.
// Config keys understood by all fakes:
//   failOn: { "<COMMAND>": { code, msg, details? } }  fail that command with this error JSON (exit 1)
//   fakeResult: {...}                                  what ADD prints when there is no prevResult
import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

export const RECORD_ENV = 'FAKE_CNI_RECORD';
const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export interface Call {
  plugin: string;
  pid: number;
  command: string;
  env: Record<string, string | undefined>;
  /** stdin parsed as JSON, or the raw text when it is not JSON. */
  stdin: unknown;
  /** Anything the fake adds (e.g. pids of children it started). */
  extra?: Record<string, unknown>;
}

export function readStdin(): { text: string; conf: Record<string, unknown> } {
  let text = '';
  try {
    text = readFileSync(0, 'utf8');
  } catch {
    // no stdin
  }
  let conf: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) conf = v as Record<string, unknown>;
  } catch {
    // not JSON: recorded as text
  }
  return { text, conf };
}

export function record(text: string, conf: Record<string, unknown>, extra?: Record<string, unknown>): void {
  const file = process.env[RECORD_ENV];
  if (!file) return;
  const call: Call = {
    plugin: basename(process.argv[1] ?? 'unknown'),
    pid: process.pid,
    command: process.env['CNI_COMMAND'] ?? '',
    env: { ...process.env },
    stdin: Object.keys(conf).length > 0 ? conf : text,
    ...(extra ? { extra } : {}),
  };
  appendFileSync(file, `${JSON.stringify(call)}\n`);
}

/** Prints an error JSON, a line on stderr, and exits 1, when the config says this command fails. */
export function maybeFail(conf: Record<string, unknown>): void {
  const failOn = conf['failOn'] as
    | Record<string, { code?: number; msg?: string; details?: string }>
    | undefined;
  const command = process.env['CNI_COMMAND'] ?? '';
  const spec = failOn?.[command];
  if (!spec) return;
  process.stderr.write(`fake plugin: failing ${command} as configured\n`);
  const err = {
    cniVersion: conf['cniVersion'] ?? '1.1.0',
    code: spec.code,
    msg: spec.msg,
    details: spec.details,
  };
  process.stdout.write(JSON.stringify(err));
  process.exit(1);
}

/** The default success behaviour of a well-behaved plugin for every command. */
export function behave(conf: Record<string, unknown>): void {
  const command = process.env['CNI_COMMAND'] ?? '';
  const version = typeof conf['cniVersion'] === 'string' ? conf['cniVersion'] : '1.1.0';
  if (command === 'VERSION') {
    process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: ALL_VERSIONS }));
    return;
  }
  if (command !== 'ADD') return;
  if (conf['prevResult'] !== undefined) {
    process.stdout.write(JSON.stringify(conf['prevResult']));
    return;
  }
  const result =
    conf['fakeResult'] ??
    (version === '0.1.0' || version === '0.2.0'
      ? { cniVersion: version, ip4: { ip: '10.99.0.2/24' } }
      : {
          cniVersion: version,
          interfaces: [{ name: process.env['CNI_IFNAME'] ?? '', sandbox: process.env['CNI_NETNS'] ?? '' }],
          ips: [],
        });
  process.stdout.write(JSON.stringify(result));
}
