// Builds the harness page (harness/dist).
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import svgr from 'vite-plugin-svgr';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Headlamp's lib reads process.env in a few places; Node polyfills (as Headlamp's app build
  // injects them) break the CommonJS interop of react here, so plain definitions stand in.
  define: { global: 'globalThis', 'process.env': '{"NODE_ENV":"production"}' },
  plugins: [svgr(), react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 20000,
    sourcemap: false,
    target: 'es2022',
  },
  logLevel: 'warn',
});
