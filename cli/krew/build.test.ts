import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { buildKrew } from './build.ts';

const out = mkdtempSync(join(tmpdir(), 'vmplane-krew-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('krew plugin', () => {
  it('packs a self-contained kubectl-vm and a manifest whose sha256 matches the archive', async () => {
    const r = await buildKrew(out, 'https://example.com/kubectl-vm.tar.gz');
    const manifest = parse(readFileSync(r.manifest, 'utf8')) as {
      kind: string;
      metadata: { name: string };
      spec: { version: string; platforms: { sha256: string; bin: string; uri: string }[] };
    };
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.metadata.name).toBe('vm');
    expect(manifest.spec.version).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(manifest.spec.platforms[0]?.sha256).toBe(
      createHash('sha256').update(readFileSync(r.archive)).digest('hex'),
    );
    expect(manifest.spec.platforms[0]?.uri).toBe('https://example.com/kubectl-vm.tar.gz');
    const files = execFileSync('tar', ['-tzf', r.archive]).toString().trim().split('\n');
    expect(files.sort()).toEqual(
      [manifest.spec.platforms[0]?.bin, 'kcel/', 'kcel/kcel.wasm', 'kcel/wasm_exec.js'].sort(),
    );
    // The user's program only: the development harness stays out of the bundle.
    expect(r.sources).toContain('cli/src/kubectl-vm/main.ts');
    expect(r.sources.filter((p) => /^(harness|test|bench)\//.test(p))).toEqual([]);
    // It runs with nothing but Node: unpacked away from the repository and its node_modules.
    const run = join(out, 'run');
    execFileSync('mkdir', ['-p', run]);
    execFileSync('tar', ['-xzf', r.archive, '-C', run]);
    const help = execFileSync(join(run, 'kubectl-vm'), ['--help'], { cwd: run }).toString();
    expect(help).toContain('kubectl vm console <name>');
    // A user's machine: no $VMPLANE_CEL_DIR, an empty cache, no Go and no vmplane source to build
    // the CEL engine from; the engine comes in the archive.
    const { VMPLANE_CEL_DIR: _dir, ...userEnv } = process.env;
    const test = execFileSync(
      join(run, 'kubectl-vm'),
      ['policy', 'test', join(REPO_ROOT, 'examples/policies')],
      {
        cwd: run,
        env: {
          ...userEnv,
          VMPLANE_CACHE_DIR: join(out, 'empty-cache'),
          PATH: dirname(process.execPath),
        },
      },
    ).toString();
    // Every expectation of the policy library's fixtures met, however many the library has.
    const [, met, all] = /(\d+) of (\d+) expectations met/.exec(test) ?? [];
    expect(Number(all)).toBeGreaterThan(0);
    expect(met).toBe(all);
  }, 60_000);
});
