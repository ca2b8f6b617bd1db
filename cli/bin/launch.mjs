// Runs a TypeScript entry point of this package through tsx, from wherever it is invoked,
// passing signals on and exiting with its code. Used by the `vmplane` and `kubectl-vm` bins.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function launch(entry) {
  const main = fileURLToPath(new URL(entry, import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), main, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
