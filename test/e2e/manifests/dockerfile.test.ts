// images/Dockerfile, read statically (this machine has no container engine): a builder stage with the
// toolchains and a slim runtime stage without them, the paths and entrypoint the DaemonSet calls, labels, a build
// context (.dockerignore) that keeps host builds out and sources in; and `make image` with stand-in engines.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHelperCandidates } from '../../../packages/daemon/src/plugin-spawner.ts';
import { IMAGE_DAEMON_MAIN, IMAGE_INSTALL_SCRIPT, IMAGE_SHIM, IMAGE_SPAWN_HELPER } from './_checks.ts';
import { daemonContainer, loadYamlObjects, PLAIN_MANIFEST, podSpecOf, REPO_ROOT } from './_manifests.ts';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions by stage, with line continuations joined, comments dropped and ARG defaults substituted. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\w+)\s+(.*)$/s.exec(line);
    if (!m) throw new Error(`unparsable Dockerfile line: ${line}`);
    const op = (m[1] as string).toUpperCase();
    const rest = (m[2] as string).replace(/\$\{(\w+)\}/g, (all, n: string) => args.get(n) ?? all);
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      if (k && v !== undefined) args.set(k, v);
    }
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      stages.push({ from: f?.[1] ?? rest, name: f?.[2], body: [] });
    } else if (stages.length > 0) {
      (stages[stages.length - 1] as Stage).body.push({ op, args: rest });
    }
  }
  return stages;
}

/** Packages named by `apt-get install` in a stage's RUN instructions. */
function aptPackages(stage: Stage): string[] {
  const out: string[] = [];
  for (const i of stage.body.filter((x) => x.op === 'RUN')) {
    for (const m of i.args.matchAll(/apt-get install ([^&;|]*)/g)) {
      out.push(...(m[1] as string).split(/\s+/).filter((w) => w !== '' && !w.startsWith('-')));
    }
  }
  return out;
}

function copies(stage: Stage): { from: string | undefined; src: string[]; dest: string }[] {
  return stage.body
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, src: paths.slice(0, -1), dest: paths[paths.length - 1] as string };
    });
}

/** A .dockerignore pattern as a RegExp over context-relative paths (enough for the patterns used here). */
function ignoreRegExp(pattern: string): RegExp {
  const p = pattern.replace(/^\/+|\/+$/g, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    if (p.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (p[i] === '*') re += '[^/]*';
    else if (p[i] === '?') re += '[^/]';
    else re += (p[i] as string).replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A directory pattern excludes everything below it.
  return new RegExp(`^${re}(?:/.*)?$`);
}

function ignored(patterns: RegExp[], path: string): boolean {
  return patterns.some((r) => r.test(path));
}

const dockerfile = readFileSync(join(REPO_ROOT, 'images/Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const builder = stages[0] as Stage;
const runtime = stages[stages.length - 1] as Stage;
const ignorePatterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map(ignoreRegExp);

describe('images/Dockerfile', () => {
  it('has a Node 24 builder stage and a Node 24 slim runtime stage', () => {
    expect(stages.map((s) => s.name)).toEqual(['builder', 'runtime']);
    expect(builder.from).toBe('docker.io/library/node:24-bookworm');
    expect(runtime.from).toBe('docker.io/library/node:24-bookworm-slim');
  });

  it('builds in the builder: pnpm from npm, musl-tools, the locked install, make build, a static shim', () => {
    const runs = builder.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(aptPackages(builder)).toEqual(['musl-tools']);
    expect(runs.some((r) => /npm install --global .*pnpm@10\b/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('pnpm install --frozen-lockfile'))).toBe(true);
    expect(
      runs.some(
        (r) =>
          /\bmake build\b/.test(r) &&
          r.includes('readelf -l packages/shim/multus-shim') &&
          r.includes('readelf -l packages/shim/multus-spawn'),
      ),
    ).toBe(true);
  });

  it('copies every workspace package manifest before the install (a new package cannot be forgotten)', () => {
    const manifests = readdirSync(join(REPO_ROOT, 'packages'))
      .filter((p) => existsSync(join(REPO_ROOT, 'packages', p, 'package.json')))
      .map((p) => `packages/${p}/package.json`)
      .sort();
    const copied = copies(builder).flatMap((c) => c.src);
    for (const m of manifests) expect(copied, m).toContain(m);
    for (const f of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']) expect(copied).toContain(f);
  });

  it('has no build tools in the runtime stage: only iproute2 and util-linux are installed', () => {
    const pkgs = aptPackages(runtime);
    expect(pkgs.sort()).toEqual(['iproute2', 'util-linux']);
    const runs = runtime.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    for (const r of runs) {
      expect(r).not.toMatch(/\b(gcc|g\+\+|clang|make|musl|build-essential|binutils|pnpm|npm|python3?)\b/);
    }
    expect(runs.some((r) => r.includes('rm -rf /var/lib/apt/lists/*'))).toBe(true);
  });

  it('puts the bundle, the shim and the install step where the DaemonSet calls them', () => {
    const c = copies(runtime);
    expect(c).toEqual([
      { from: 'builder', src: ['/src/packages/daemon/dist/'], dest: `${dirname(IMAGE_DAEMON_MAIN)}/` },
      { from: 'builder', src: ['/src/packages/shim/multus-shim'], dest: IMAGE_SHIM },
      { from: 'builder', src: ['/src/packages/shim/multus-spawn'], dest: IMAGE_SPAWN_HELPER },
      { from: undefined, src: ['images/install-multus.sh'], dest: IMAGE_INSTALL_SCRIPT },
    ]);
    // The daemon finds multus-spawn there by itself (the first place it looks, beside dist/).
    expect(spawnHelperCandidates(dirname(IMAGE_DAEMON_MAIN))[0]).toBe(IMAGE_SPAWN_HELPER);
    // What the builder produces at those sources: make build's outputs.
    expect(readFileSync(join(REPO_ROOT, 'scripts/build.ts'), 'utf8')).toContain(
      "'packages/daemon/dist/main.js'",
    );
    const spec = podSpecOf(loadYamlObjects(PLAIN_MANIFEST));
    const entry = runtime.body.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
    const cmd = runtime.body.find((i) => i.op === 'CMD')?.args ?? '';
    expect(JSON.parse(entry)).toEqual(daemonContainer(spec).command);
    expect(JSON.parse(cmd)).toEqual(daemonContainer(spec).args);
    expect(spec.initContainers?.[0]?.command?.[0]).toBe(IMAGE_INSTALL_SCRIPT);
    expect(spec.initContainers?.[0]?.command).toContain(IMAGE_SHIM);
    expect(statSync(join(REPO_ROOT, 'images/install-multus.sh')).mode & 0o111).toBe(0o111);
  });

  it('labels the image with the OCI annotations, licence as in package.json', () => {
    const labels = runtime.body
      .filter((i) => i.op === 'LABEL')
      .flatMap((i) => [...i.args.matchAll(/([\w.]+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const));
    const keys = labels.map(([k]) => k);
    for (const k of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      expect(keys).toContain(`org.opencontainers.image.${k}`);
    }
    const license = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string })
      .license;
    expect(Object.fromEntries(labels)['org.opencontainers.image.licenses']).toBe(license);
  });
});

describe('.dockerignore', () => {
  it('keeps host builds and dependencies out of the context', () => {
    for (const p of [
      'node_modules/x',
      'packages/daemon/node_modules/zod',
      'packages/daemon/dist/main.js',
      'packages/shim/multus-shim',
      'packages/shim/multus-spawn',
      'packages/shim/build/fuzz-wire',
      '.tools/bin/node',
      '.git/HEAD',
    ]) {
      expect(ignored(ignorePatterns, p), p).toBe(true);
    }
  });

  it('keeps every file the build needs in the context', () => {
    const needed = [
      ...copies(builder).flatMap((c) => c.src.filter((s) => s !== '.')),
      ...copies(runtime).flatMap((c) => (c.from ? [] : c.src)),
      'Makefile',
      'scripts/build.ts',
      'packages/daemon/src/main.ts',
      'packages/shim/src/shim.c',
      'packages/shim/Makefile',
      'packages/cni/src/index.ts',
      'packages/netspec/src/index.ts',
    ];
    for (const p of needed) {
      expect(existsSync(join(REPO_ROOT, p)), p).toBe(true);
      expect(ignored(ignorePatterns, p), p).toBe(false);
    }
  });
});

describe('make image', () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'multus-ts-engines-'));
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  /** A stand-in engine: `info` exits with `infoCode`; anything else is logged to <bin>/<name>.log. */
  function engine(name: string, infoCode: number, buildCode = 0): string {
    const log = join(bin, `${name}.log`);
    const path = join(bin, name);
    writeFileSync(
      path,
      `#!/bin/sh\nif [ "$1" = info ]; then exit ${infoCode}; fi\necho "$PWD|$*" >> ${log}\nexit ${buildCode}\n`,
    );
    chmodSync(path, 0o755);
    return log;
  }

  function makeImage(vars: string[]) {
    return spawnSync('make', ['-s', '-C', REPO_ROOT, 'image', ...vars], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` },
    });
  }

  it('says clearly that nothing was built, and succeeds, when no engine works', () => {
    engine('docker', 1);
    const r = makeImage(['IMAGE_ENGINES=docker']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'make image: no working container engine (tried: docker); ghcr.io/multus-ts/multus-ts:latest was NOT built.',
    );
    expect(existsSync(join(bin, 'docker.log'))).toBe(false);
  });

  it('builds images/Dockerfile from the repository root with the first engine that works', () => {
    engine('docker', 1);
    const log = engine('podman', 0);
    const r = makeImage(['IMAGE_ENGINES=docker podman', 'IMAGE=registry.example/multus-ts:dev']);
    expect(r.status, r.stderr).toBe(0);
    const [cwd, args] = readFileSync(log, 'utf8').trim().split('|');
    expect(cwd).toBe(REPO_ROOT);
    expect(args).toMatch(
      /^build -f images\/Dockerfile -t registry\.example\/multus-ts:dev --build-arg VERSION=\d+\.\d+\.\d+ --build-arg REVISION=\S+ \.$/,
    );
  });

  it('uses `buildah bud`, and fails when the build fails', () => {
    engine('buildah', 0, 3);
    const r = makeImage(['IMAGE_ENGINES=buildah']);
    expect(r.status).not.toBe(0);
    expect(readFileSync(join(bin, 'buildah.log'), 'utf8')).toMatch(/\|bud -f images\/Dockerfile -t /);
  });
});
