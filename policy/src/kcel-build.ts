// The Kubernetes CEL engine's build: kube-apiserver's CEL (policy/kcel/*.go) built from the Go
// module proxy once, cached by the Kubernetes version and the source's hash, twice: a native
// program for this machine (the webhooks and the audit run it as processes) and WebAssembly (the
// offline CLI, whose one archive serves every platform).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cacheRoot,
  findGo,
  KUBERNETES_VERSION,
  kubernetesLdflags,
  run,
  withLock,
  type Log,
} from '../../kube/src/go-build.ts';
import { KCEL_NATIVE } from './kcel.ts';

/** The Go source of the Kubernetes CEL engine (policy/kcel): its .go files. */
export const KCEL_SOURCE = fileURLToPath(new URL('../kcel/', import.meta.url));

/** The engine's Go files by name, in name order. */
export function kcelSources(dir = KCEL_SOURCE): Record<string, string> {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.go'))
    .sort();
  return Object.fromEntries(names.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * Where the Kubernetes CEL engine is (or will be once built): a folder holding the native program
 * (kcel), kcel.wasm and Go's wasm_exec.js, keyed by the Kubernetes version and the sources' hash,
 * so a changed source builds anew and an unchanged one never does.
 */
export function kubernetesCelDir(
  root: string,
  sources: Record<string, string> = kcelSources(),
  version = KUBERNETES_VERSION,
): string {
  const hash = createHash('sha256');
  for (const [name, text] of Object.entries(sources)) hash.update(`${name}\0${text}\0`);
  return join(root, 'bin', `kcel-v${version}-${hash.digest('hex').slice(0, 8)}`);
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
 * libraries, cost model and limits), built once from the Go module proxy. Returns the folder
 * holding the native program (kcel), kcel.wasm and wasm_exec.js.
 */
export async function ensureKubernetesCel(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const root = cacheRoot(env);
  const sources = kcelSources();
  const dir = kubernetesCelDir(root, sources);
  const done = (): boolean =>
    ['kcel.wasm', 'wasm_exec.js', KCEL_NATIVE].every((f) => existsSync(join(dir, f)));
  if (done()) return dir;
  await withLock(root, log, async () => {
    if (done()) return;
    const go = findGo(env);
    // Not kcel-v…, where a build of the one-file engine (main.go only) keeps its source.
    const src = join(root, 'src', `kcel-go-v${KUBERNETES_VERSION}`);
    mkdirSync(src, { recursive: true });
    if (!existsSync(join(src, 'go.mod')))
      for (const [name, content] of Object.entries(kubernetesCelWrapper()))
        writeFileSync(join(src, name), content);
    // The folder holds exactly the engine's sources (a file removed from policy/kcel goes).
    for (const f of readdirSync(src).filter((f) => f.endsWith('.go'))) rmSync(join(src, f));
    for (const [name, text] of Object.entries(sources)) writeFileSync(join(src, name), text);
    const buildEnv = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
    const wasmEnv = { ...buildEnv, GOOS: 'js', GOARCH: 'wasm' };
    log(
      `building the Kubernetes CEL engine (kube-apiserver v${KUBERNETES_VERSION}'s CEL, native and as WebAssembly) into ${dir}`,
    );
    if (!existsSync(join(src, 'go.sum')))
      await run(go, ['mod', 'tidy'], src, wasmEnv, log, 'resolving modules');
    mkdirSync(dir, { recursive: true });
    const build = ['build', '-trimpath', '-ldflags', kubernetesLdflags(KUBERNETES_VERSION)];
    const native = join(dir, `${KCEL_NATIVE}.tmp-${process.pid}`);
    await run(go, [...build, '-o', native, '.'], src, buildEnv, log, 'building the CEL engine');
    const tmp = join(dir, `kcel.wasm.tmp-${process.pid}`);
    await run(go, [...build, '-o', tmp, '.'], src, wasmEnv, log, 'building the CEL engine (wasm)');
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
    renameSync(native, join(dir, KCEL_NATIVE));
  });
  if (!done())
    throw new Error(`the Kubernetes CEL engine is still missing in ${dir} after the build`);
  return dir;
}
