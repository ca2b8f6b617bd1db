// Builds of Kubernetes' own Go modules (kube-apiserver, its CEL) into a per-user cache: where the
// cache is, the Go toolchain, one build at a time across processes, and the version stamps. Used by
// the development harness (the control plane) and by the policy layer (the CEL engine's build).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const KUBERNETES_VERSION = '1.35.4';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMPLANE_CACHE_DIR) return env.VMPLANE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vmplane');
}

/** Version stamps, so /version reports the release instead of v0.0.0. */
export function kubernetesLdflags(version: string): string {
  const [major, minor] = version.split('.');
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap(
    (pkg) => [
      `-X ${pkg}.gitVersion=v${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
    ],
  );
  return ['-s', '-w', ...stamps].join(' ');
}

export function isExecutable(path: string): boolean {
  try {
    return statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function findGo(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'go'))) return join(dir, 'go');
  }
  for (const candidate of ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'])
    if (isExecutable(candidate)) return candidate;
  throw new Error(
    'go: not found on PATH or in /usr/local/go. The control plane is built from the Go module proxy on first use; install Go 1.25 or newer, or point KUBEBUILDER_ASSETS at a folder holding etcd, kube-apiserver and kubectl.',
  );
}

export type Log = (line: string) => void;

export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: Log,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // Long builds print progress so nobody thinks they hang.
    const timer = setInterval(
      () => log(`  still ${what} (${Math.round((Date.now() - started) / 1000)} s)`),
      30_000,
    );
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (exit ${code}):\n${tail}`));
    });
  });
}

/** One build at a time per cache, across processes: a lock folder holding the owner's pid. */
export async function withLock<T>(root: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const lock = join(root, 'build.lock');
  mkdirSync(root, { recursive: true });
  let waited = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let owner: number;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        owner = 0;
      }
      let alive: boolean;
      try {
        if (owner) process.kill(owner, 0);
        alive = owner > 0;
      } catch {
        alive = false;
      }
      if (!alive) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!waited) log(`waiting for another build (pid ${owner}) to finish`);
      waited = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
