// The plugin's own toolchain, as a plugin author runs it: type check, lint with zero warnings,
// and `npm run package` (the tarball Headlamp installs, with artifacthub-pkg.yml carrying its
// checksum). The runner has built plugin/dist before the tests start.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PLUGIN_DIR } from '../../harness/src/ui/build.ts';

const scratch = mkdtempSync(
  join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-package-`),
);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function npm(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('npm', args, { cwd: PLUGIN_DIR, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('the plugin toolchain', () => {
  it('type-checks (tsc, strict)', () => {
    const r = npm(['run', 'tsc']);
    expect(r.status, r.output).toBe(0);
  });

  it('lints with zero warnings', () => {
    const r = npm(['run', 'lint']);
    expect(r.status, r.output).toBe(0);
  });

  it('packages a tarball Headlamp installs, and artifacthub-pkg.yml carries its checksum', () => {
    const pkgFile = join(scratch, 'artifacthub-pkg.yml');
    const r = npm(['run', 'package', '--', '--out', scratch, '--pkg', pkgFile]);
    expect(r.status, r.output).toBe(0);
    const version = (
      JSON.parse(readFileSync(join(PLUGIN_DIR, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const tarball = join(scratch, `vmplane-${version}.tar.gz`);

    // One top folder named after the plugin, with the bundle, the terminal it loads on demand,
    // package.json and translations.
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    expect(listing).toEqual(
      expect.arrayContaining([
        'vmplane/main.js',
        'vmplane/xterm.js',
        'vmplane/package.json',
        'vmplane/locales/en/translation.json',
      ]),
    );
    expect(listing.every((p) => p.startsWith('vmplane/'))).toBe(true);

    const meta = parse(readFileSync(pkgFile, 'utf8')) as {
      version: string;
      name: string;
      annotations: Record<string, string>;
    };
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    expect(meta.name).toBe('vmplane');
    expect(meta.version).toBe(version);
    expect(meta.annotations['headlamp/plugin/archive-checksum']).toBe(`SHA256:${sha}`);
    expect(meta.annotations['headlamp/plugin/archive-url']).toMatch(
      new RegExp(`/vmplane-${version.replace(/\./g, '\\.')}\\.tar\\.gz$`),
    );
  });

  it('the committed artifacthub-pkg.yml describes this version', () => {
    const committed = parse(readFileSync(join(PLUGIN_DIR, 'artifacthub-pkg.yml'), 'utf8')) as {
      version: string;
      annotations: Record<string, string>;
    };
    const version = (
      JSON.parse(readFileSync(join(PLUGIN_DIR, 'package.json'), 'utf8')) as { version: string }
    ).version;
    expect(committed.version).toBe(version);
    expect(committed.annotations['headlamp/plugin/archive-checksum']).toMatch(
      /^SHA256:[0-9a-f]{64}$/,
    );
  });
});
