// KubeVirt's own command-line client, virtctl, at the release the engine plays: built once from
// the Go module proxy (kubevirt.io/kubevirt/cmd/virtctl) into the per-user cache, like the
// conformance commands, so tests can drive the engine the way KubeVirt users do. Nothing of
// KubeVirt is committed: the wrapper module below is generated in the cache.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cacheRoot,
  findGo,
  isExecutable,
  run,
  withLock,
  type Log,
} from '../../../kube/src/go-build.ts';
import { KUBEVIRT_VERSION, output, TOOLS, toolGoMod } from './conformance.ts';

/** The main package built: virtctl as KubeVirt ships it. */
export const VIRTCTL_PACKAGE = 'kubevirt.io/kubevirt/cmd/virtctl';

/** Where client-go keeps the version stamps virtctl reports (and compares with the server's). */
const VERSION_PKG = 'kubevirt.io/client-go/version';

const KUBEVIRT = TOOLS.find((t) => t.name === 'kubevirt');

/**
 * A main package of a dependency cannot be imported, but `go mod tidy` must still see it to
 * resolve its modules: a file under the `tools` build tag names it, and `go build` builds the
 * package path itself.
 */
export function toolsGo(pkg: string = VIRTCTL_PACKAGE): string {
  return [
    '//go:build tools',
    '',
    '// Package tools records the commands built from this module, for go mod tidy.',
    'package tools',
    '',
    `import _ "${pkg}"`,
    '',
  ].join('\n');
}

/** What makes one build differ from another; the cache folder is keyed by it. */
export function recipe(version: string): string {
  return [`${VIRTCTL_PACKAGE}@v${version}`, toolsGo(), 'CGO_ENABLED=0 -trimpath'].join('\n');
}

/** The cache folder of a virtctl build: its release and the hash of the recipe. */
export function virtctlDir(root: string, version: string = KUBEVIRT_VERSION): string {
  const hash = createHash('sha256').update(recipe(version)).digest('hex').slice(0, 8);
  return join(root, 'bin', `virtctl-v${version}-${hash}`);
}

/** The release's commit and date, as the module proxy reports them (`go mod download -json`). */
export interface ReleaseInfo {
  commit?: string;
  time?: string;
}

/**
 * Version stamps as KubeVirt's release build sets them (hack/version.sh), so `virtctl version`
 * says v1.7.0 and virtctl's client/server version comparison after an error has a version to
 * compare (unstamped, it reports an unparsable `v0.0.0-master+$Format:%h$`).
 */
export function virtctlLdflags(version: string, info: ReleaseInfo = {}): string {
  const stamps: string[] = [`-X ${VERSION_PKG}.gitVersion=v${version}`];
  if (info.commit)
    stamps.push(
      `-X ${VERSION_PKG}.gitCommit=${info.commit}`,
      `-X ${VERSION_PKG}.gitTreeState=clean`,
    );
  if (info.time) {
    const date = new Date(info.time);
    if (!Number.isNaN(date.getTime()))
      stamps.push(`-X ${VERSION_PKG}.buildDate=${date.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  }
  return ['-s', '-w', ...stamps].join(' ');
}

/** The wrapper module's go.mod: the release, its staging modules, its replace block. */
export function virtctlGoMod(upstreamGoMod: string): string {
  if (!KUBEVIRT) throw new Error('no kubevirt tool among the conformance tools');
  return toolGoMod(KUBEVIRT, upstreamGoMod, 'vmplane.local/virtctl');
}

interface DownloadInfo {
  GoMod?: string;
  Info?: string;
  Error?: string;
  Origin?: { Hash?: string };
}

async function build(root: string, dir: string, version: string, go: string, log: Log) {
  const src = join(root, 'src', `virtctl-v${version}`);
  mkdirSync(src, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const started = Date.now();
  log(`building virtctl (${VIRTCTL_PACKAGE} v${version}) into ${dir}`);
  const module = KUBEVIRT?.module ?? 'kubevirt.io/kubevirt';
  const info = JSON.parse(
    await output(go, ['mod', 'download', '-json', `${module}@v${version}`], src, env),
  ) as DownloadInfo;
  if (!info.GoMod) throw new Error(`${module}@v${version}: ${info.Error ?? 'no go.mod'}`);
  let time: string | undefined;
  try {
    time = (JSON.parse(readFileSync(info.Info ?? '', 'utf8')) as { Time?: string }).Time;
  } catch {
    time = undefined;
  }
  if (!existsSync(join(src, 'go.mod')))
    writeFileSync(join(src, 'go.mod'), virtctlGoMod(readFileSync(info.GoMod, 'utf8')));
  writeFileSync(join(src, 'tools.go'), toolsGo());
  if (!existsSync(join(src, 'go.sum'))) {
    log(`  resolving Go modules in ${src}`);
    await run(go, ['mod', 'tidy'], src, env, log, 'resolving modules');
  }
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'virtctl');
  const tmp = `${out}.tmp-${process.pid}`;
  log('  compiling virtctl (a few minutes on two cores, once)');
  try {
    await run(
      go,
      [
        'build',
        '-trimpath',
        '-ldflags',
        virtctlLdflags(version, {
          ...(info.Origin?.Hash ? { commit: info.Origin.Hash } : {}),
          ...(time ? { time } : {}),
        }),
        '-o',
        tmp,
        VIRTCTL_PACKAGE,
      ],
      src,
      env,
      log,
      'building virtctl',
    );
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  log(`  virtctl v${version} built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * The path of virtctl at the KubeVirt release the engine plays, building it under the cache's
 * build lock when it is missing (never rebuilding one that is there).
 */
export async function ensureVirtctl(
  log: Log = (l) => console.log(l),
  env: NodeJS.ProcessEnv = process.env,
  version: string = KUBEVIRT_VERSION,
): Promise<string> {
  const root = cacheRoot(env);
  const dir = virtctlDir(root, version);
  const bin = join(dir, 'virtctl');
  if (isExecutable(bin)) return bin;
  await withLock(root, log, async () => {
    if (!isExecutable(bin)) await build(root, dir, version, findGo(env), log);
  });
  if (!isExecutable(bin)) throw new Error(`virtctl is still missing after the build: ${bin}`);
  return bin;
}
