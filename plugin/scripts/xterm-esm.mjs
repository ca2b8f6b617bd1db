// xterm.js ships only a UMD file, and Headlamp's build config (its node polyfills inject an ESM
// import into it) then loses its exports. This turns it into an ES module first, into a
// git-ignored file, with a declaration file that points at xterm's own types.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';

mkdirSync('generated', { recursive: true });
await build({
  stdin: {
    contents:
      "export { Terminal } from '@xterm/xterm'; export { FitAddon } from '@xterm/addon-fit';",
    resolveDir: process.cwd(),
    loader: 'js',
  },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'inline',
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: 'generated/xterm.mjs',
  logLevel: 'warning',
});
writeFileSync(
  'generated/xterm.d.mts',
  "export { Terminal } from '@xterm/xterm';\nexport { FitAddon } from '@xterm/addon-fit';\n"
);
