// Builds the Headlamp plugin (plugin/dist) and the harness page (plugin/harness/dist) when their
// sources are newer than the output, for the sandbox's UI and the browser tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../api/src/paths.ts';

export const PLUGIN_DIR = join(REPO_ROOT, 'plugin');

function newest(paths: string[]): number {
  let t = 0;
  const walk = (p: string): void => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else t = Math.max(t, s.mtimeMs);
  };
  for (const p of paths) walk(p);
  return t;
}

function stale(output: string, inputs: string[]): boolean {
  return !existsSync(output) || statSync(output).mtimeMs < newest(inputs);
}

function run(args: string[], log: (l: string) => void): void {
  log(`plugin: npm ${args.join(' ')}`);
  const r = spawnSync('npm', args, {
    cwd: PLUGIN_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(`plugin: npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

export function ensurePluginBuilt(log: (l: string) => void = () => {}): {
  pluginDir: string;
  harnessDir: string;
  iconDir: string;
} {
  const sources = [
    join(PLUGIN_DIR, 'src'),
    join(PLUGIN_DIR, 'scripts'),
    join(PLUGIN_DIR, 'locales'),
    join(PLUGIN_DIR, 'package.json'),
    join(REPO_ROOT, 'api', 'src'),
    join(REPO_ROOT, 'api', 'generated'),
  ];
  if (stale(join(PLUGIN_DIR, 'dist', 'main.js'), sources)) run(['run', 'build'], log);
  if (
    stale(join(PLUGIN_DIR, 'harness', 'dist', 'index.html'), [
      join(PLUGIN_DIR, 'harness', 'main.tsx'),
      join(PLUGIN_DIR, 'harness', 'vite.config.mts'),
      join(PLUGIN_DIR, 'package-lock.json'),
    ])
  )
    run(['run', 'build:harness'], log);
  return {
    pluginDir: join(PLUGIN_DIR, 'dist'),
    harnessDir: join(PLUGIN_DIR, 'harness', 'dist'),
    iconDir: join(PLUGIN_DIR, 'node_modules', '@iconify', 'icons-mdi'),
  };
}
