// The serial console's terminal (xterm.js and its fit add-on) as a file of its own,
// generated/xterm.js, which the build copies next to main.js (package.json headlamp.extraDist).
// The plugin loads it the first time a console opens, so the bundle every page pays for stays
// small: xterm is about 280 KB of the 350 KB the bundle would be with it.
//
// It is a plain script that defines one variable, evaluated by the plugin the way Headlamp
// evaluates plugins (xterm ships only a UMD file, which Headlamp's build polyfills break).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';

mkdirSync('generated', { recursive: true });
await build({
  stdin: {
    contents:
      "export { Terminal } from '@xterm/xterm'; export { FitAddon } from '@xterm/addon-fit';",
    resolveDir: process.cwd(),
    loader: 'js',
  },
  bundle: true,
  format: 'iife',
  globalName: 'vmplaneXterm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'inline',
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: 'generated/xterm.js',
  logLevel: 'warning',
});
