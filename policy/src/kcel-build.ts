// The Kubernetes CEL engine's build: kube-apiserver's CEL (policy/kcel/main.go) compiled to
// WebAssembly from the Go module proxy once, cached by the Kubernetes version and the source's hash.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
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

/** The Go source of the Kubernetes CEL engine (policy/kcel), built to WebAssembly. */
export const KCEL_SOURCE = fileURLToPath(new URL('../kcel/main.go', import.meta.url));

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
