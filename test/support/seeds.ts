// The operator guides' scenarios (test/support/fixtures/seeds, copied from the project's shared fixtures) as
// objects for tests and the demo. Configs that use host-local get its data dir pointed into the harness's temp
// dir, the only change made to them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { NodeHarness } from './daemon-harness.ts';

export const SEEDS_DIR = join(import.meta.dirname, 'fixtures', 'seeds');

interface NadFile {
  metadata: { name: string };
  spec: { config: string };
}

/** A seed NAD's `spec.config` as an object, host-local's dataDir moved into the harness. */
export function seedNadConfig(
  h: NodeHarness,
  file: string,
): { name: string; config: Record<string, unknown> } {
  const nad = parse(readFileSync(join(SEEDS_DIR, file), 'utf8')) as NadFile;
  const config = JSON.parse(nad.spec.config) as Record<string, unknown>;
  const ipam = config['ipam'] as Record<string, unknown> | undefined;
  if (ipam?.['type'] === 'host-local') config['ipam'] = h.hostLocal(nad.metadata.name, ipam);
  return { name: nad.metadata.name, config };
}

/** The quickstart NAD `macvlan-conf` (macvlan on eth0, host-local 192.168.1.200-216). */
export function macvlanConf(h: NodeHarness): Record<string, unknown> {
  return seedNadConfig(h, 'macvlan-conf.yaml').config;
}

/** The selection annotation of a seed pod. */
export function seedPodNetworks(file: string): string {
  const pod = parse(readFileSync(join(SEEDS_DIR, file), 'utf8')) as {
    metadata: { annotations: Record<string, string> };
  };
  return pod.metadata.annotations['k8s.v1.cni.cncf.io/networks'] ?? '';
}

/** A bridge NAD `foo` for the samplepod-foo scenario. */
export function fooBridge(h: NodeHarness): Record<string, unknown> {
  return {
    cniVersion: '0.3.1',
    name: 'foo',
    type: 'bridge',
    bridge: 'foobr0',
    ipam: h.hostLocal('foo', { subnet: '10.10.0.0/24' }),
  };
}

/** macvlan with static IPAM and tuning: the chain declares `ips` and `mac`, for JSON selections. */
export function macvlanStatic(): Record<string, unknown> {
  return {
    cniVersion: '0.4.0',
    plugins: [
      {
        type: 'macvlan',
        master: 'eth0',
        mode: 'bridge',
        capabilities: { ips: true },
        ipam: { type: 'static' },
      },
      { type: 'tuning', capabilities: { mac: true } },
    ],
  };
}
