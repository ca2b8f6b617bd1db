// The control-plane binaries (etcd, kube-apiserver, kube-controller-manager, kubectl) at pinned versions: taken from
// KUBEBUILDER_ASSETS when set, else built once from the Go module proxy into a per-user cache
// keyed by version and reused by every clone, test run and sandbox afterwards.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cacheRoot,
  findGo,
  isExecutable,
  KUBERNETES_VERSION,
  kubernetesLdflags,
  run,
  withLock,
  type Log,
} from '../../../kube/src/go-build.ts';

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
  /** Garbage collection, namespace deletion, volume binding: a cluster's own controllers. */
  kubeControllerManager: string;
  kubectl: string;
  /** Where they came from, for the log. */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
}

export interface WrapperModule {
  dir: string;
  files: Record<string, string>;
  builds: { pkg: string; out: string; ldflags: string }[];
}

export function kubernetesBinDir(root: string, version = KUBERNETES_VERSION): string {
  return join(root, 'bin', `kubernetes-v${version}`);
}

export function etcdBinDir(root: string, version = ETCD_VERSION): string {
  return join(root, 'bin', `etcd-v${version}`);
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
    '\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"',
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
      {
        pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
        out: join(out, 'kube-controller-manager'),
        ldflags,
      },
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
      kubeControllerManager: join(assets, 'kube-controller-manager'),
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
    // envtest assets carry no kube-controller-manager: the cached one is built when missing.
    if (!exists(b.kubeControllerManager))
      b.kubeControllerManager = join(kubernetesBinDir(cacheRoot(env)), 'kube-controller-manager');
    return b;
  }
  const root = cacheRoot(env);
  return {
    etcd: join(etcdBinDir(root), 'etcd'),
    kubeApiserver: join(kubernetesBinDir(root), 'kube-apiserver'),
    kubeControllerManager: join(kubernetesBinDir(root), 'kube-controller-manager'),
    kubectl: join(kubernetesBinDir(root), 'kubectl'),
    source: 'cache',
  };
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
  const all = [bins.etcd, bins.kubeApiserver, bins.kubeControllerManager, bins.kubectl];
  const missing = all.filter((p) => !isExecutable(p));
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
  const still = all.filter((p) => !isExecutable(p));
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
