import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, beside the code) and `e2e` (real plugins, namespaces and processes).
// e2e files run one at a time: they share the kernel's network stack and this machine has 2 cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'test/support/**/*.test.ts', 'test/bench/**/*.test.ts'],
          // The real kube-apiserver's own tests start etcd and an apiserver: processes, root, ports.
          exclude: ['test/support/apiserver/**'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/support/apiserver/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
