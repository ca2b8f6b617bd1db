// The plugin's tests: pure logic and components rendered with the real Headlamp lib in jsdom.
// It starts from headlamp-plugin's own config (jsdom, React, the node polyfills) and adds our
// setup file. The plugin-name injection (it turns `useTranslation()` into
// `useTranslation("vmplane")`, without which strings are not interpolated) is kept for our own
// sources only, and quietly: it logs two lines per file it touches.
import headlamp from '@kinvolk/headlamp-plugin/config/vite.config.mjs';
import { fileURLToPath } from 'node:url';
import type { Plugin, PluginOption } from 'vite';
import { defineConfig, mergeConfig } from 'vitest/config';

const SRC = fileURLToPath(new URL('./src/', import.meta.url));

const plugins = (headlamp.plugins ?? []).flat().map(p => {
  if (!p || typeof p !== 'object' || !('name' in p) || p.name !== 'plugin-name-injection') return p;
  const injection = p as Plugin & { transform: (code: string, id: string) => unknown };
  return {
    ...injection,
    buildStart: undefined,
    transform(code: string, id: string) {
      if (!id.startsWith(SRC)) return null;
      const log = console.log;
      console.log = () => undefined;
      try {
        return injection.transform(code, id);
      } finally {
        console.log = log;
      }
    },
  } as Plugin;
});

export default mergeConfig(
  { ...headlamp, plugins: plugins as PluginOption[] },
  defineConfig({
    test: {
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['./test/setup.ts'],
      testTimeout: 30_000,
      // Headlamp's i18n logs every loaded namespace in development unless UNDER_TEST is set.
      env: { UNDER_TEST: 'true' },
    },
  })
);
