// What every vmplane process does the same way at its edges: tell whether its module was started
// as the program (not imported by another), and stop cleanly once on SIGTERM or Ctrl-C.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` is the program node was started with. In a bundle every
 * module shares the bundle's URL, so the module's own path must end with `sourcePath` too
 * (e.g. '/webhooks/src/main.ts'): a bundle that holds both processes starts neither by accident.
 */
export function isProgram(
  moduleUrl: string,
  sourcePath: string,
  argv1: string | undefined = process.argv[1],
): boolean {
  return !!argv1 && resolve(argv1) === fileURLToPath(moduleUrl) && moduleUrl.endsWith(sourcePath);
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT (a second signal while stopping does not run
 * it again), then exits 0.
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let stopping = false;
  const once = (): void => {
    if (stopping) return;
    stopping = true;
    void stop().then(() => exit(0));
  };
  process.once('SIGTERM', once);
  process.once('SIGINT', once);
}
