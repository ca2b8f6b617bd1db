// The control-plane binaries (etcd, kube-apiserver, kubectl) at pinned versions: taken from
// KUBEBUILDER_ASSETS when set, else built once from the Go module proxy into a per-user cache
// keyed by version and reused by every clone, test run and sandbox afterwards.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../../../api/src/generate.ts';

export const KUBERNETES_VERSION = '1.35.4';
export const ETCD_VERSION = '3.6.16';
export const HELM_VERSION = '4.3.1';

/**
 * The staging modules k8s.io/kubernetes replaces with local folders that the module zip lacks;
 * the wrapper module pins each to the matching published v0.X.Y.
 */
export const KUBERNETES_STAGING_MODULES = [
  'api',
  'apiextensions-apiserver',
  'apimachinery',
  'apiserver',
  'cli-runtime',
  'client-go',
  'cloud-provider',
  'cluster-bootstrap',
  'code-generator',
  'component-base',
  'component-helpers',
  'controller-manager',
  'cri-api',
  'cri-client',
  'csi-translation-lib',
  'dynamic-resource-allocation',
  'endpointslice',
  'externaljwt',
  'kms',
  'kube-aggregator',
  'kube-controller-manager',
  'kube-proxy',
  'kube-scheduler',
  'kubectl',
  'kubelet',
  'metrics',
  'mount-utils',
  'pod-security-admission',
  'sample-apiserver',
] as const;

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  /** Where they came from, for the log. */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
}

export interface WrapperModule {
  dir: string;
  files: Record<string, string>;
  builds: { pkg: string; out: string; ldflags: string }[];
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMPLANE_CACHE_DIR) return env.VMPLANE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vmplane');
}

export function kubernetesBinDir(root: string, version = KUBERNETES_VERSION): string {
  return join(root, 'bin', `kubernetes-v${version}`);
}

export function etcdBinDir(root: string, version = ETCD_VERSION): string {
  return join(root, 'bin', `etcd-v${version}`);
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

export function kubernetesWrapper(root: string, version = KUBERNETES_VERSION): WrapperModule {
  const staging = `0.${version.split('.').slice(1).join('.')}`;
  const goMod = [
    'module vmplane.local/k8sbuild',
    '',
    'go 1.25',
    '',
    `require k8s.io/kubernetes v${version}`,
    '',
    ...KUBERNETES_STAGING_MODULES.map((m) => `replace k8s.io/${m} => k8s.io/${m} v${staging}`),
    '',
  ].join('\n');
  const tools = [
    '//go:build tools',
    '',
    'package tools',
    '',
    'import (',
    '\t_ "k8s.io/kubernetes/cmd/kube-apiserver"',
    '\t_ "k8s.io/kubernetes/cmd/kubectl"',
    ')',
    '',
  ].join('\n');
  const out = kubernetesBinDir(root, version);
  const ldflags = kubernetesLdflags(version);
  return {
    dir: join(root, 'src', `kubernetes-v${version}`),
    files: { 'go.mod': goMod, 'tools.go': tools },
    builds: [
      { pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', out: join(out, 'kube-apiserver'), ldflags },
      { pkg: 'k8s.io/kubernetes/cmd/kubectl', out: join(out, 'kubectl'), ldflags },
    ],
  };
}

/** etcd gets its own module so version selection cannot move kube-apiserver's etcd client. */
export function etcdWrapper(root: string, version = ETCD_VERSION): WrapperModule {
  return {
    dir: join(root, 'src', `etcd-v${version}`),
    files: {
      'go.mod': `module vmplane.local/etcdbuild\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 v${version}\n`,
      'tools.go': '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n',
    },
    builds: [
      {
        pkg: 'go.etcd.io/etcd/server/v3',
        out: join(etcdBinDir(root, version), 'etcd'),
        ldflags: '-s -w',
      },
    ],
  };
}

export function isExecutable(path: string): boolean {
  try {
    return statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Where the binaries are (or will be once built). A pure decision over the environment. */
export function locateBinaries(
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = isExecutable,
): Binaries {
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets) {
    const b: Binaries = {
      etcd: join(assets, 'etcd'),
      kubeApiserver: join(assets, 'kube-apiserver'),
      kubectl: join(assets, 'kubectl'),
      source: 'KUBEBUILDER_ASSETS',
    };
    const missing = (['etcd', 'kubeApiserver'] as const).filter((k) => !exists(b[k]));
    if (missing.length) {
      throw new Error(
        `KUBEBUILDER_ASSETS=${assets} lacks ${missing.map((m) => (m === 'kubeApiserver' ? 'kube-apiserver' : m)).join(' and ')}; unset it to build the binaries instead`,
      );
    }
    // envtest assets usually carry kubectl; if not, fall back to the cached one.
    if (!exists(b.kubectl)) b.kubectl = join(kubernetesBinDir(cacheRoot(env)), 'kubectl');
    return b;
  }
  const root = cacheRoot(env);
  return {
    etcd: join(etcdBinDir(root), 'etcd'),
    kubeApiserver: join(kubernetesBinDir(root), 'kube-apiserver'),
    kubectl: join(kubernetesBinDir(root), 'kubectl'),
    source: 'cache',
  };
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

async function buildWrapper(w: WrapperModule, go: string, log: Log): Promise<void> {
  mkdirSync(w.dir, { recursive: true });
  // go mod tidy completes go.mod; write the seed only once so its result is kept.
  if (!existsSync(join(w.dir, 'go.mod'))) {
    for (const [name, content] of Object.entries(w.files))
      writeFileSync(join(w.dir, name), content);
  }
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  if (!existsSync(join(w.dir, 'go.sum'))) {
    log(`  resolving Go modules in ${w.dir}`);
    await run(go, ['mod', 'tidy'], w.dir, env, log, 'resolving modules');
  }
  for (const b of w.builds) {
    if (isExecutable(b.out)) continue;
    const name = b.out.split('/').pop();
    log(`  building ${name} from ${b.pkg} (the first build takes several minutes)`);
    mkdirSync(join(b.out, '..'), { recursive: true });
    const tmp = `${b.out}.tmp-${process.pid}`;
    await run(
      go,
      ['build', '-trimpath', '-ldflags', b.ldflags, '-o', tmp, b.pkg],
      w.dir,
      env,
      log,
      `building ${name}`,
    );
    renameSync(tmp, b.out);
  }
}

/** The binaries, building whichever are missing. Never rebuilds one that is present. */
export async function ensureBinaries(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
): Promise<Binaries> {
  const bins = locateBinaries(env);
  const missing = [bins.etcd, bins.kubeApiserver, bins.kubectl].filter((p) => !isExecutable(p));
  if (missing.length === 0) return bins;
  const root = cacheRoot(env);
  await withLock(root, log, async () => {
    const go = findGo(env);
    const wanted = [kubernetesWrapper(root), etcdWrapper(root)].filter((w) =>
      w.builds.some((b) => missing.includes(b.out)),
    );
    log(
      `building the control plane (Kubernetes v${KUBERNETES_VERSION}, etcd v${ETCD_VERSION}) into ${root}`,
    );
    for (const w of wanted) await buildWrapper(w, go, log);
  });
  const still = [bins.etcd, bins.kubeApiserver, bins.kubectl].filter((p) => !isExecutable(p));
  if (still.length)
    throw new Error(`control-plane binaries still missing after the build: ${still.join(', ')}`);
  return bins;
}

/** helm: from PATH when there, else built once from the Go module proxy into the cache. */
export async function ensureHelm(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (env.VMPLANE_HELM && isExecutable(env.VMPLANE_HELM)) return env.VMPLANE_HELM;
  const root = cacheRoot(env);
  const cached = join(root, 'bin', `helm-v${HELM_VERSION}`, 'helm');
  if (isExecutable(cached)) return cached;
  await withLock(root, log, async () => {
    if (isExecutable(cached)) return;
    const go = findGo(env);
    const gobin = join(root, 'bin', `helm-v${HELM_VERSION}`);
    mkdirSync(gobin, { recursive: true });
    log(
      `building helm v${HELM_VERSION} from the Go module proxy into ${gobin} (a few minutes, once)`,
    );
    await run(
      go,
      ['install', '-trimpath', '-ldflags', '-s -w', `helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}`],
      root,
      { ...process.env, CGO_ENABLED: '0', GOBIN: gobin },
      log,
      'building helm',
    );
  });
  if (!isExecutable(cached)) throw new Error(`helm still missing at ${cached} after the build`);
  return cached;
}

/** The Go source of the Kubernetes CEL engine (policy/kcel), built to WebAssembly. */
export const KCEL_SOURCE = join(REPO_ROOT, 'policy', 'kcel', 'main.go');

/**
 * Where the Kubernetes CEL engine is (or will be once built): a folder holding kcel.wasm and Go's
 * wasm_exec.js, keyed by the Kubernetes version and the source's hash, so a changed source builds
 * anew and an unchanged one never does.
 */
export function kubernetesCelDir(
  root: string,
  source = readFileSync(KCEL_SOURCE, 'utf8'),
  version = KUBERNETES_VERSION,
): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
  return join(root, 'bin', `kcel-v${version}-${hash}`);
}

/** The wrapper module: the API server's CEL packages at the staging version of the release. */
export function kubernetesCelWrapper(version = KUBERNETES_VERSION): Record<string, string> {
  const staging = `v0.${version.split('.').slice(1).join('.')}`;
  return {
    'go.mod': [
      'module vmplane.local/kcel',
      '',
      'go 1.25',
      '',
      'require (',
      `\tk8s.io/apimachinery ${staging}`,
      `\tk8s.io/apiserver ${staging}`,
      `\tk8s.io/component-base ${staging}`,
      ')',
      '',
    ].join('\n'),
  };
}

/**
 * The Kubernetes CEL engine: kube-apiserver's own CEL environment (cel-go with Kubernetes'
 * libraries, cost model and limits) compiled to WebAssembly, built once from the Go module proxy.
 * Returns the folder holding kcel.wasm and wasm_exec.js.
 */
export async function ensureKubernetesCel(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const root = cacheRoot(env);
  const source = readFileSync(KCEL_SOURCE, 'utf8');
  const dir = kubernetesCelDir(root, source);
  const done = (): boolean =>
    existsSync(join(dir, 'kcel.wasm')) && existsSync(join(dir, 'wasm_exec.js'));
  if (done()) return dir;
  await withLock(root, log, async () => {
    if (done()) return;
    const go = findGo(env);
    const src = join(root, 'src', `kcel-v${KUBERNETES_VERSION}`);
    mkdirSync(src, { recursive: true });
    if (!existsSync(join(src, 'go.mod')))
      for (const [name, content] of Object.entries(kubernetesCelWrapper()))
        writeFileSync(join(src, name), content);
    writeFileSync(join(src, 'main.go'), source);
    const buildEnv = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
    const wasmEnv = { ...buildEnv, GOOS: 'js', GOARCH: 'wasm' };
    log(
      `building the Kubernetes CEL engine (kube-apiserver v${KUBERNETES_VERSION}'s CEL, as WebAssembly) into ${dir}`,
    );
    if (!existsSync(join(src, 'go.sum')))
      await run(go, ['mod', 'tidy'], src, wasmEnv, log, 'resolving modules');
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `kcel.wasm.tmp-${process.pid}`);
    await run(
      go,
      ['build', '-trimpath', '-ldflags', kubernetesLdflags(KUBERNETES_VERSION), '-o', tmp, '.'],
      src,
      wasmEnv,
      log,
      'building the CEL engine',
    );
    const goroot = await new Promise<string>((resolve, reject) => {
      const child = spawn(go, ['env', 'GOROOT'], { env: buildEnv });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out.trim()));
    });
    const execJs = [
      join(goroot, 'lib', 'wasm', 'wasm_exec.js'),
      join(goroot, 'misc', 'wasm', 'wasm_exec.js'),
    ].find(existsSync);
    if (!execJs) throw new Error(`wasm_exec.js not found under ${goroot}`);
    copyFileSync(execJs, join(dir, 'wasm_exec.js'));
    renameSync(tmp, join(dir, 'kcel.wasm'));
  });
  if (!done())
    throw new Error(`the Kubernetes CEL engine is still missing in ${dir} after the build`);
  return dir;
}
