#!/usr/bin/env node
// Entry point of `npm start` and `npm test` on a fresh clone: plain JavaScript with no
// dependencies, so it runs before anything is installed. It installs the npm dependencies when
// they are missing or do not match package-lock.json, then hands over to the TypeScript command.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { depsStale, nodeModulesIsLink } from './bootstrap-deps.mjs';

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

/** Installs the dependencies of `dir` when they do not match its lock file. */
function install(dir, npmArgs, what) {
  const why = depsStale(dir, dir === root ? ['tsx'] : []);
  if (!why) return;
  if (nodeModulesIsLink(dir)) {
    // npm would empty the folder the link points to, which another checkout uses.
    console.error(
      `${join(dir, 'node_modules')} is a link and does not match ${join(dir, 'package-lock.json')} (${why}): run npm ci where it points, or remove the link`,
    );
    process.exit(1);
  }
  console.log(`installing ${what} (${why})...`);
  const r = spawnSync('npm', npmArgs, { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm ${npmArgs[0]} in ${dir} failed; see the output above`);
    process.exit(r.status ?? 1);
  }
}

install(root, ['ci', '--no-audit', '--no-fund'], 'npm dependencies');
// The Headlamp plugin has its own toolchain (its pinned TypeScript, vite and React) in plugin/.
// `npm install`, not `npm ci`: npm 11 leaves @swc/core's optional platform packages out of the
// lock file, and `npm ci` then refuses it. The versions still come from the lock file.
if (['test', 'sandbox', 'bench'].includes(name))
  install(
    join(root, 'plugin'),
    ['install', '--no-audit', '--no-fund'],
    'the Headlamp plugin toolchain in plugin/ (first run, about 2 minutes)',
  );

const [script, ...args] = commands[name];
const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args, ...rest], {
  cwd: root,
  stdio: 'inherit',
});
// The TypeScript command handles SIGINT/SIGTERM itself (it shares the terminal's process group
// for Ctrl-C); a SIGTERM sent to this process alone is passed on.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
