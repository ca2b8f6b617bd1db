// Network namespaces held by a small process each (I/O). The node namespace: a user namespace
// (root mapped to the engine's user, so no privilege is needed) with its own network and mount
// namespaces, held by `cat` reading a pipe from the engine. A pod's namespace: a network namespace
// nested in the node's user namespace, held the same way. Every holder dies with the engine: the
// kernel kills it when its parent (the engine) goes (setpriv --pdeathsig), and the pipe it reads
// closes then too. Commands run inside with nsenter.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { withSbin } from './host-check.ts';
import type { ExecResult } from './node-network.ts';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? 'setpriv';

/** A process holding namespaces, and how to run a command in them. */
export interface Holder {
  pid: number;
  child: ChildProcess;
  /** nsenter's arguments that enter the namespaces (before `--`). */
  enter: string[];
  stop(): void;
}

/** The argv that runs `argv` in the holder's user and network namespaces, dying with the engine. */
export const inside = (h: Pick<Holder, 'pid'>, argv: readonly string[]): string[] => [
  // dnsmasq and nft live in sbin, which a non-root user's PATH lacks.
  'env',
  `PATH=${withSbin(process.env.PATH)}`,
  'nsenter',
  '-t',
  String(h.pid),
  '-U',
  '-n',
  '--preserve-credentials',
  '--',
  SETPRIV,
  '--pdeathsig',
  'KILL',
  '--',
  ...argv,
];

/** Starts a holder: `argv` makes the namespaces and execs the holding command given after it. */
function hold(argv: string[]): Promise<Holder> {
  const [cmd = '', ...args] = argv;
  const child = spawn(
    cmd,
    [...args, SETPRIV, '--pdeathsig', 'KILL', '--', 'sh', '-c', 'echo ready; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`${argv.join(' ')} exited (${code}): ${stderr.trim()}`)),
    );
    child.stdout?.once('data', () => {
      const pid = child.pid ?? 0;
      resolve({
        pid,
        child,
        enter: ['-t', String(pid), '-U', '-n', '--preserve-credentials'],
        stop: () => {
          child.stdin?.end();
          child.kill('SIGKILL');
        },
      });
    });
  });
}

/** The node namespace: a user namespace of the engine's own with network and mount namespaces. */
export const holdNode = (): Promise<Holder> =>
  hold(['unshare', '--user', '--map-root-user', '--net', '--mount', '--']);

/** A pod's network namespace inside the node's user namespace. */
export const holdPod = (node: Holder): Promise<Holder> =>
  hold([
    'nsenter',
    '-t',
    String(node.pid),
    '-U',
    '-n',
    '--preserve-credentials',
    '--',
    'unshare',
    '--net',
    '--',
  ]);

/** Runs a command to its end, never throwing on its exit code. */
export function run(argv: readonly string[], input?: string): Promise<ExecResult> {
  const [cmd = '', ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PATH: withSbin(process.env.PATH) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // A command that exits without reading its input is no error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Runs commands in order inside a holder; rejects with the first that fails, naming it. */
export async function runAll(h: Pick<Holder, 'pid'>, cmds: readonly string[][]): Promise<void> {
  for (const c of cmds) {
    const r = await run(inside(h, c));
    if (r.code !== 0) throw new Error(`${c.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

/**
 * Whether this machine lets the engine make user namespaces (probed once: a holder that starts
 * and makes a bridge); the reason when it does not.
 */
export async function probeUserNamespaces(): Promise<string | undefined> {
  const r = await run([
    'unshare',
    '--user',
    '--map-root-user',
    '--net',
    '--mount',
    '--',
    'sh',
    '-c',
    'ip link add vmp-probe type bridge && nft list tables >/dev/null',
  ]);
  return r.code === 0 ? undefined : r.stderr.trim() || `exit ${r.code}`;
}
