import { defineConfig } from 'vitest/config';

// One run covers unit tests (next to the code) and integration tests (test/). The global setup
// starts one real etcd + kube-apiserver per run, shared by every integration test; each test
// file isolates itself in its own namespace.
export default defineConfig({
  test: {
    include: [
      '{api,kube,policy,decisions,webhooks,controllers,engine,cli,harness,test}/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'plugin/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
