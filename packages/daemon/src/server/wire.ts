// The daemon's wire format, shared with upstream's multus-shim: POST {"env":{...},"config":"<base64>",
// "interfaceAttributes":{...}}; success {"Result":{...}}; failure a CNI error JSON with HTTP 400.
import { CniError, validateContainerId, validateIfName } from '@multus-ts/cni';
import { z } from 'zod';
import { DAEMON_ERRORS } from '../catalogue.ts';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const InterfaceAttributesSchema = z.looseObject({
  ips: z.array(z.string()).nullish(),
  mac: z.string().nullish(),
  'cni-args': z.record(z.string(), z.unknown()).nullish(),
});
export type InterfaceAttributes = z.infer<typeof InterfaceAttributesSchema>;

const BodySchema = z.looseObject({
  env: z.record(z.string(), z.string()).nullish(),
  config: z.string().nullish(),
  interfaceAttributes: InterfaceAttributesSchema.nullish(),
});

/** A CNI call as the daemon receives it, before any Kubernetes interpretation. */
export interface CniCall {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as sent (parsed later, where the pod identity is needed). */
  args: string;
  /** The full environment the caller sent (the shim sends all of its environment). */
  env: Readonly<Record<string, string>>;
  /** stdin of the CNI call: the network configuration bytes. */
  config: Uint8Array;
  interfaceAttributes: InterfaceAttributes | undefined;
}

/** Variables each command needs, per the CNI spec (IFNAME defaults to eth0 as upstream's daemon does). */
const REQUIRED_ENV: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS'],
  DEL: ['CNI_CONTAINERID'],
  GC: [],
  STATUS: [],
  VERSION: [],
};

export function decodeCall(body: unknown): CniCall {
  const parsed = BodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'body';
    throw CniError.of(DAEMON_ERRORS, 'ERR_BODY_INVALID', {
      issue: `${where}: ${issue?.message ?? 'invalid'}`,
    });
  }
  const env = parsed.data.env ?? {};
  const configText = parsed.data.config ?? '';
  if (!BASE64_RE.test(configText)) throw CniError.of(DAEMON_ERRORS, 'ERR_CONFIG_NOT_BASE64');
  const rawCommand = env['CNI_COMMAND']?.trim();
  if (!rawCommand) throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_MISSING');
  const command = CNI_COMMANDS.find((c) => c === rawCommand);
  if (!command) throw CniError.of(DAEMON_ERRORS, 'ERR_COMMAND_UNKNOWN', { command: rawCommand.slice(0, 64) });
  const missing = REQUIRED_ENV[command].filter((k) => env[k] === undefined || env[k] === '');
  if (missing.length > 0) throw CniError.of(DAEMON_ERRORS, 'ERR_ENV_MISSING', { names: missing.join(',') });
  // The container ID names files (the delegate and result caches) and the ifname a kernel link: both are checked
  // here, with libcni's rules and code 4, before anything uses them.
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    validateContainerId(env['CNI_CONTAINERID'] ?? '');
    if (env['CNI_IFNAME']) validateIfName(env['CNI_IFNAME']);
  }
  return {
    command,
    containerId: env['CNI_CONTAINERID'] ?? '',
    netns: env['CNI_NETNS'] ?? '',
    ifName: env['CNI_IFNAME'] || 'eth0',
    args: env['CNI_ARGS'] ?? '',
    env,
    config: Buffer.from(configText, 'base64'),
    interfaceAttributes: parsed.data.interfaceAttributes ?? undefined,
  };
}
