#!/usr/bin/env node
// Entry point of `npm start` and `npm test` on a fresh clone: plain JavaScript with no
// dependencies, so it runs before anything is installed. It installs the npm dependencies when
// they are missing or older than package-lock.json, then hands over to the TypeScript command.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const commands = {
  sandbox: ['harness/src/sandbox-main.ts'],
  test: ['harness/src/test-runner.ts'],
  bench: ['bench/run.ts'],
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in commands)) {
  console.error(`usage: node harness/bootstrap.mjs ${Object.keys(commands).join('|')} [args]`);
  process.exit(2);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  console.error(`vmplane needs Node.js 20.10 or newer; this is ${process.version}`);
  process.exit(1);
}

function depsAreCurrent() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker) || !existsSync(join(root, 'node_modules', '.bin', 'tsx'))) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs;
}

if (!depsAreCurrent()) {
  console.log('installing npm dependencies (first run)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('npm ci failed; see the output above');
    process.exit(r.status ?? 1);
  }
}

// The Headlamp plugin has its own toolchain (its pinned TypeScript, vite and React) in plugin/.
function pluginDepsAreCurrent() {
  const dir = join(root, 'plugin');
  const marker = join(dir, 'node_modules', '.package-lock.json');
  return (
    existsSync(marker) &&
    statSync(marker).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs
  );
}
if (['test', 'sandbox', 'bench'].includes(name) && !pluginDepsAreCurrent()) {
  console.log(
    'installing the Headlamp plugin toolchain in plugin/ (first run, about 2 minutes)...',
  );
  // `npm install`, not `npm ci`: npm 11 leaves @swc/core's optional platform packages out of the
  // lock file, and `npm ci` then refuses it. The versions still come from the lock file.
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: join(root, 'plugin'),
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error('npm install in plugin/ failed; see the output above');
    process.exit(r.status ?? 1);
  }
}

const [script, ...args] = commands[name];
const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args, ...rest], {
  cwd: root,
  stdio: 'inherit',
});
// The TypeScript command handles SIGINT/SIGTERM itself (it shares the terminal's process group
// for Ctrl-C); a SIGTERM sent to this process alone is passed on.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
