// Default-route edits inside a pod's network namespace (multi-net-spec 4.1.2.1.9), with iproute2 run through
// nsenter: the runtime gives us a netns path, which `ip -n` cannot take.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NetnsOps, RouteAction } from './deps.ts';

const run = promisify(execFile);

async function ipInNetns(netnsPath: string, args: string[]): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=${netnsPath}`, '--', 'ip', ...args], { timeout: 10_000 });
  return stdout;
}

export const nsenterNetnsOps: NetnsOps = {
  async applyDefaultRoutes(netnsPath: string, action: RouteAction): Promise<void> {
    for (const family of action.deleteFamilies) {
      // Only this interface's default routes, and only in the families asked for.
      const out = await ipInNetns(netnsPath, [
        `-${family}`,
        '-j',
        'route',
        'show',
        'default',
        'dev',
        action.ifName,
      ]);
      const routes = out.trim() === '' ? [] : (JSON.parse(out) as { gateway?: string; metric?: number }[]);
      for (const r of routes) {
        const args = [`-${family}`, 'route', 'del', 'default', 'dev', action.ifName];
        if (r.gateway) args.push('via', r.gateway);
        if (r.metric !== undefined) args.push('metric', String(r.metric));
        await ipInNetns(netnsPath, args);
      }
    }
    for (const g of action.addGateways) {
      await ipInNetns(netnsPath, [
        `-${g.family}`,
        'route',
        'replace',
        'default',
        'via',
        g.gateway,
        'dev',
        action.ifName,
      ]);
    }
  },
};
