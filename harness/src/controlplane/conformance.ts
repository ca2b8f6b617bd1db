// KubeVirt's and CDI's own CRDs and admission checks, as two small Go commands (conformance/)
// built once from the Go module proxy against the releases vmplane is checked with, like the
// control plane. Each is its own module: CDI pins other Kubernetes libraries than KubeVirt.
// Nothing of KubeVirt or CDI is committed; their CRDs are generated here and cached.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../api/src/paths.ts';
import {
  cacheRoot,
  findGo,
  isExecutable,
  run,
  withLock,
  type Log,
} from '../../../kube/src/go-build.ts';

/** The engine releases vmplane is checked with (docs/kubevirt.md, supported versions). */
export const KUBEVIRT_VERSION = '1.7.0';
export const CDI_VERSION = '1.65.0';

export interface ConformanceTool {
  /** kubevirt or cdi */
  name: 'kubevirt' | 'cdi';
  version: string;
  /** The Go module whose release is checked, and the staging modules it replaces by path. */
  module: string;
  staging: Record<string, string>;
  /** The folder of the command's Go files (package main). */
  source: string;
}

export const TOOLS: readonly ConformanceTool[] = [
  {
    name: 'kubevirt',
    version: KUBEVIRT_VERSION,
    module: 'kubevirt.io/kubevirt',
    // KubeVirt's go.mod points these at its own staging folders; their published releases match.
    staging: {
      'kubevirt.io/api': `v${KUBEVIRT_VERSION}`,
      'kubevirt.io/client-go': `v${KUBEVIRT_VERSION}`,
    },
    source: join(REPO_ROOT, 'conformance', 'kubevirt'),
  },
  {
    name: 'cdi',
    version: CDI_VERSION,
    module: 'kubevirt.io/containerized-data-importer',
    staging: { 'kubevirt.io/containerized-data-importer-api': `v${CDI_VERSION}` },
    source: join(REPO_ROOT, 'conformance', 'cdi'),
  },
];

/** A command's Go files by name, main.go first. */
export type GoSources = [name: string, text: string][];

export function readSources(folder: string): GoSources {
  const names = readdirSync(folder)
    .filter((n) => n.endsWith('.go') && !n.endsWith('_test.go'))
    .sort((a, b) => (a === 'main.go' ? -1 : b === 'main.go' ? 1 : a.localeCompare(b)));
  return names.map((n) => [n, readFileSync(join(folder, n), 'utf8')]);
}

/**
 * What the build's cache key hashes: main.go, then each other file under a line naming it. A
 * command of main.go alone hashes as main.go did before commands had more files.
 */
export function sourceKey(sources: GoSources): string {
  return sources
    .map(([name, text]) => (name === 'main.go' ? text : `\n// vmplane: file ${name}\n${text}`))
    .join('');
}

/** Where a tool is (or will be): keyed by its release and its sources' hash (sourceKey). */
export function toolDir(root: string, tool: ConformanceTool, source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
  return join(root, 'bin', `${tool.name}-conformance-v${tool.version}-${hash}`);
}

/**
 * A dependent module must repeat the replace directives of the module it depends on. This takes
 * the replace block of the release's go.mod and points staging paths at published releases.
 */
export function replaceBlock(upstreamGoMod: string, staging: Record<string, string>): string {
  const lines: string[] = [];
  let inBlock = false;
  for (const raw of upstreamGoMod.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('replace (')) {
      inBlock = true;
      continue;
    }
    if (inBlock && line === ')') {
      inBlock = false;
      continue;
    }
    const single = line.startsWith('replace ') ? line.slice('replace '.length) : undefined;
    const directive = inBlock ? line : single;
    if (!directive || directive.startsWith('//')) continue;
    const [from, to] = directive.split('=>').map((s) => s.trim());
    if (!from || !to) continue;
    const name = from.split(/\s+/)[0] ?? '';
    if (to.startsWith('./') || to.startsWith('../')) {
      const published = staging[name];
      if (!published) throw new Error(`no published release given for ${name} (replaced by ${to})`);
      lines.push(`\t${name} => ${name} ${published}`);
    } else lines.push(`\t${from} => ${to}`);
  }
  return `replace (\n${lines.join('\n')}\n)\n`;
}

/**
 * The go.mod of a tool: the release, its staging modules at their published versions, its
 * replaces. `module` names the wrapper module (the conformance command's by default).
 */
export function toolGoMod(
  tool: ConformanceTool,
  upstreamGoMod: string,
  module = `vmplane.local/${tool.name}-conformance`,
): string {
  const goLine = /^go\s+(\S+)/m.exec(upstreamGoMod)?.[1] ?? '1.24.0';
  const requires = [
    `\t${tool.module} v${tool.version}`,
    ...Object.entries(tool.staging).map(([m, v]) => `\t${m} ${v}`),
  ];
  return [
    `module ${module}`,
    '',
    `go ${goLine}`,
    '',
    'require (',
    ...requires,
    ')',
    '',
    replaceBlock(upstreamGoMod, tool.staging),
  ].join('\n');
}

/** A command's standard output; a failure says the command and the end of its standard error. */
export function output(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}): ${err}`)),
    );
  });
}

export interface ConformanceBinaries {
  kubevirt: string;
  cdi: string;
  /** Folders holding each release's CRDs as crds.yaml (for installCrds). */
  crdDirs: { kubevirt: string; cdi: string };
}

async function buildTool(
  root: string,
  tool: ConformanceTool,
  sources: GoSources,
  go: string,
  log: Log,
): Promise<void> {
  const dir = toolDir(root, tool, sourceKey(sources));
  const src = join(root, 'src', `${tool.name}-conformance-v${tool.version}`);
  mkdirSync(src, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  log(
    `building ${tool.name}-conformance (${tool.module} v${tool.version}: its CRDs and admission checks) into ${dir}`,
  );
  if (!existsSync(join(src, 'go.mod'))) {
    const info = JSON.parse(
      await output(go, ['mod', 'download', '-json', `${tool.module}@v${tool.version}`], src, env),
    ) as { GoMod?: string; Error?: string };
    if (!info.GoMod)
      throw new Error(`${tool.module}@v${tool.version}: ${info.Error ?? 'no go.mod'}`);
    writeFileSync(join(src, 'go.mod'), toolGoMod(tool, readFileSync(info.GoMod, 'utf8')));
  }
  // The build folder is shared by every version of the sources: only this version's files.
  for (const n of readdirSync(src)) if (n.endsWith('.go')) rmSync(join(src, n));
  for (const [name, text] of sources) writeFileSync(join(src, name), text);
  // Tidy each time: a version of the sources may import packages an earlier one did not. With the
  // modules already downloaded it takes seconds.
  log(`  resolving Go modules in ${src}`);
  await run(go, ['mod', 'tidy'], src, env, log, 'resolving modules');
  mkdirSync(join(dir, 'crds'), { recursive: true });
  const out = join(dir, `${tool.name}-conformance`);
  const tmp = `${out}.tmp-${process.pid}`;
  log(`  compiling ${tool.name}-conformance (about 3 minutes on two cores, once)`);
  await run(
    go,
    ['build', '-trimpath', '-ldflags', `-s -w -X main.version=${tool.version}`, '-o', tmp, '.'],
    src,
    env,
    log,
    `building ${tool.name}-conformance`,
  );
  writeFileSync(join(dir, 'crds', 'crds.yaml'), await output(tmp, ['crds'], dir, env));
  renameSync(tmp, out);
}

/**
 * The two conformance commands, building whichever is missing (never rebuilding one that is
 * there): `kubevirt-conformance` and `cdi-conformance`, with each release's CRDs beside them.
 */
export async function ensureConformance(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConformanceBinaries> {
  const root = cacheRoot(env);
  const located = TOOLS.map((tool) => {
    const sources = readSources(tool.source);
    const dir = toolDir(root, tool, sourceKey(sources));
    return { tool, sources, dir, bin: join(dir, `${tool.name}-conformance`) };
  });
  const done = (): boolean =>
    located.every((t) => isExecutable(t.bin) && existsSync(join(t.dir, 'crds', 'crds.yaml')));
  if (!done()) {
    await withLock(root, log, async () => {
      for (const t of located) {
        if (isExecutable(t.bin) && existsSync(join(t.dir, 'crds', 'crds.yaml'))) continue;
        await buildTool(root, t.tool, t.sources, findGo(env), log);
      }
    });
    if (!done()) throw new Error('the conformance commands are still missing after the build');
  }
  const [kv, cdi] = located as [(typeof located)[0], (typeof located)[0]];
  return {
    kubevirt: kv.bin,
    cdi: cdi.bin,
    crdDirs: { kubevirt: join(kv.dir, 'crds'), cdi: join(cdi.dir, 'crds') },
  };
}

/** One cause KubeVirt or CDI gives for refusing an object, with the field it names. */
export interface Cause {
  type?: string;
  message: string;
  field?: string;
}

export interface Verdict {
  allowed: boolean;
  causes: Cause[];
  warnings?: string[];
  /** The object could not be checked at all (the command says why). */
  error?: string;
}

/** A `serve` process: JSON lines in, one verdict per line out, in order. */
class Server {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: {
    resolve: (v: Verdict) => void;
    reject: (e: Error) => void;
  }[] = [];
  private buffer = '';
  private stderr = '';
  private exited: Error | undefined;

  constructor(bin: string) {
    this.child = spawn(bin, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (b: Buffer) => {
      this.buffer += b.toString();
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()?.resolve(JSON.parse(line) as Verdict);
      }
    });
    this.child.stderr.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(
        `${bin} serve exited (${signal ?? `exit ${code}`}): ${this.stderr.trim()}`,
      );
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  check(request: object): Promise<Verdict> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

/**
 * KubeVirt's VirtualMachine admission and CDI's DataVolume admission, each in a long-running
 * process of the conformance commands. `close()` stops both.
 */
export class EngineChecks {
  private readonly kubevirt: Server;
  private readonly cdi: Server;

  constructor(bins: Pick<ConformanceBinaries, 'kubevirt' | 'cdi'>) {
    this.kubevirt = new Server(bins.kubevirt);
    this.cdi = new Server(bins.cdi);
  }

  /** virt-api's verdict on creating this kubevirt.io/v1 VirtualMachine under the KubeVirt CR given. */
  virtualMachine(object: object, kubevirt?: object): Promise<Verdict> {
    return this.kubevirt.check({ object, ...(kubevirt ? { kubevirt } : {}) });
  }

  /** cdi-apiserver's verdict on creating this cdi.kubevirt.io/v1beta1 DataVolume. */
  dataVolume(object: object): Promise<Verdict> {
    return this.cdi.check({ object });
  }

  async close(): Promise<void> {
    await Promise.all([this.kubevirt.close(), this.cdi.close()]);
  }
}
