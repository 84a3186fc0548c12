// A tiny shell CNI plugin for lifecycle tests: logs "<start|end> <command> <containerID> <ns>" lines to a file
// fixed at install time, sleeps, and answers like a plugin. Shell, not node, so 200 of them are cheap.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function installSlowPlugin(
  binDir: string,
  name: string,
  logFile: string,
  sleepSeconds: number,
): Promise<string> {
  const path = join(binDir, name);
  await writeFile(
    path,
    `#!/bin/sh
cat >/dev/null
echo "start $CNI_COMMAND $CNI_CONTAINERID $(date +%s%N)" >> '${logFile}'
sleep ${sleepSeconds}
echo "end $CNI_COMMAND $CNI_CONTAINERID $(date +%s%N)" >> '${logFile}'
if [ "$CNI_COMMAND" = ADD ]; then printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}]}' "$CNI_IFNAME" "$CNI_NETNS"; fi
if [ "$CNI_COMMAND" = VERSION ]; then printf '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}'; fi
exit 0
`,
  );
  await chmod(path, 0o755);
  return path;
}

export interface LogLine {
  kind: 'start' | 'end';
  command: string;
  containerId: string;
  ns: bigint;
}

export function parseLog(text: string): LogLine[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [kind, command, containerId, ns] = l.split(' ');
      return {
        kind: kind as 'start' | 'end',
        command: command ?? '',
        containerId: containerId ?? '',
        ns: BigInt(ns ?? '0'),
      };
    });
}

/** The largest number of plugin runs that were in progress at the same moment. */
export function peakConcurrency(lines: readonly LogLine[]): number {
  const events = [...lines].sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.kind === 'end' ? -1 : 1));
  let now = 0;
  let peak = 0;
  for (const e of events) {
    now += e.kind === 'start' ? 1 : -1;
    peak = Math.max(peak, now);
  }
  return peak;
}
