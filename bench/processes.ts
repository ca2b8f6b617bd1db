// The processes a benchmark runs beside itself (bench/servers.ts's admission servers, the
// production bundle's webhooks and controllers) and what they cost, read from /proc. Every child
// is tracked, so that the run kills them all when it ends or is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/src/paths.ts';
import { RESULTS } from './results.ts';

const children: ChildProcess[] = [];

/** The production bundle the benchmarks run: dist/vmplane.mjs, or $BENCH_BUNDLE (the smoke test's own). */
export function bundlePath(): string {
  return process.env.BENCH_BUNDLE ?? join(REPO_ROOT, 'dist/vmplane.mjs');
}

/** Builds the production bundle (`npm run bundle`) to this file, next to dist/vmplane.mjs's place. */
export async function buildBundle(outfile = bundlePath()): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    spawn('npm', ['run', 'bundle', '--silent', '--', `--outfile=${outfile}`], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`npm run bundle exited ${c}`)))),
  );
}

/** Counts a child among those killChildren kills. */
function track(child: ChildProcess): void {
  children.push(child);
}

/** SIGKILL to every child this run started (on exit, and on Ctrl-C or SIGTERM). */
export function killChildren(): void {
  children.forEach((c) => c.kill('SIGKILL'));
}

/** Node with these arguments, resolved with the port once the child prints `READY <port>`. */
function startChild(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(child);
    child.stdout?.on('data', (b: Buffer) => {
      const m = /READY (\d+)/.exec(b.toString());
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

/** An admission server of bench/servers.ts (`noop`, `vmplane N`), once it listens. */
export function startBenchServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; port: number }> {
  return startChild(['--import', 'tsx', join(REPO_ROOT, 'bench/servers.ts'), ...args], env);
}

/**
 * A command of the production bundle (dist/vmplane.mjs webhooks, controllers) in its own process,
 * with these variables added to the environment. BENCH_PROFILE=1: its CPU profile goes to
 * bench/results (*.cpuprofile, written as it exits).
 */
export function startBundle(
  command: 'webhooks' | 'controllers',
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', RESULTS] : [];
  const child = spawn(process.execPath, [...profile, bundlePath(), command], {
    env: { ...process.env, ...env },
    // stderr kept (its last lines): why a process that exits early did.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => (tail = (tail + b.toString()).slice(-2000)));
  stderrTails.set(child, () => tail);
  track(child);
  return child;
}

const stderrTails = new WeakMap<ChildProcess, () => string>();

/** How a child of startBundle ended: its exit code and the end of what it wrote to stderr. */
export function exitReport(child: ChildProcess): string {
  const tail = stderrTails.get(child)?.().trim();
  return `exited ${child.exitCode ?? child.signalCode}${tail ? `: ${tail}` : ' (nothing on stderr)'}`;
}

/** The signal (SIGTERM unless told), and the child's exit awaited; at once if it has already exited. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** The resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}
