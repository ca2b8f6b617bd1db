// Builds the krew archive of `kubectl vm` (one bundled file, run by Node.js) and the manifest
// with its sha256: dist/krew/kubectl-vm.tar.gz and dist/krew/vm.yaml.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CEL_DIR_ENV } from '../../policy/src/index.ts';
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { BUNDLED_CEL_DIR } from '../src/policy/commands.ts';

export interface KrewBuild {
  archive: string;
  manifest: string;
  sha256: string;
  /** The repository's files bundled into the archive (none of the development harness). */
  sources: string[];
}

export async function buildKrew(
  outDir = join(REPO_ROOT, 'dist/krew'),
  uri?: string,
): Promise<KrewBuild> {
  const version = `v${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;
  const stage = join(outDir, 'stage');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const bin = join(stage, 'kubectl-vm');
  const bundled = await build({
    metafile: true,
    entryPoints: [join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bin,
    external: ['bufferutil', 'utf-8-validate'],
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __vmplaneRequire } from 'node:module'; const require = __vmplaneRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  chmodSync(bin, 0o755);
  // The Kubernetes CEL engine goes in the archive, built here: a user of the plugin has neither
  // Go nor vmplane's source to build it from.
  const cel = process.env[CEL_DIR_ENV] ?? (await ensureKubernetesCel((l) => console.error(l)));
  mkdirSync(join(stage, BUNDLED_CEL_DIR));
  for (const f of ['kcel.wasm', 'wasm_exec.js'])
    copyFileSync(join(cel, f), join(stage, BUNDLED_CEL_DIR, f));
  const archive = join(outDir, 'kubectl-vm.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', stage, 'kubectl-vm', BUNDLED_CEL_DIR]);
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const manifest = join(outDir, 'vm.yaml');
  const template = readFileSync(join(REPO_ROOT, 'cli/krew/vm.yaml'), 'utf8');
  const values: Record<string, string> = {
    version,
    uri: uri ?? `file://${resolve(archive)}`,
    sha256,
  };
  // Fill the placeholders of the manifest itself; the template's comments are left out.
  const rendered = template
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => values[k] ?? ''))
    .join('\n');
  writeFileSync(manifest, rendered);
  rmSync(stage, { recursive: true, force: true });
  const sources = Object.keys(bundled.metafile.inputs).filter((p) => !p.includes('node_modules/'));
  return { archive, manifest, sha256, sources };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const r = await buildKrew(undefined, process.env.VMPLANE_RELEASE_URL);
  console.log(`${r.archive}\n${r.manifest}\nsha256 ${r.sha256}`);
}
