import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../config/load.ts';
import { installUserProvidedConfig } from './user-config.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-user-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('installUserProvidedConfig (non-auto mode)', () => {
  it('copies the file into cniConfigDir under its base name, with its mode', async () => {
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'net.d'));
    const src = join(dir, 'src', '00-my-multus.conf');
    writeFileSync(src, '{"cniVersion":"0.3.1","name":"m","type":"multus-shim"}', { mode: 0o640 });
    const cfg = parseDaemonConfig(
      JSON.stringify({ multusConfigFile: src, cniConfigDir: join(dir, 'net.d') }),
    ).typed;
    const dest = await installUserProvidedConfig(cfg);
    expect(dest).toBe(join(dir, 'net.d', '00-my-multus.conf'));
    expect(readFileSync(dest as string, 'utf8')).toBe(readFileSync(src, 'utf8'));
    expect(statSync(dest as string).mode & 0o777).toBe(0o640);
  });

  it('auto mode does nothing; a missing source is an error naming it', async () => {
    const auto = parseDaemonConfig(JSON.stringify({ cniVersion: '0.3.1', multusAutoconfigDir: dir })).typed;
    expect(await installUserProvidedConfig(auto)).toBeUndefined();
    const missing = parseDaemonConfig(
      JSON.stringify({ multusConfigFile: join(dir, 'nope.conf'), cniConfigDir: dir }),
    ).typed;
    await expect(installUserProvidedConfig(missing)).rejects.toThrow(
      /failed to persist the multus configuration: .*nope\.conf/,
    );
  });
});
