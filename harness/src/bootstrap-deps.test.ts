import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { depsStale, lockDifference, nodeModulesIsLink } from '../bootstrap-deps.mjs';

const lock = {
  packages: {
    '': { name: 'vmplane' },
    'node_modules/a': { version: '1.0.0' },
    'node_modules/a/node_modules/b': { version: '2.0.0' },
    'node_modules/@esbuild/darwin-arm64': { version: '0.1.0', optional: true },
  },
};
const installed = {
  packages: {
    'node_modules/a': { version: '1.0.0' },
    'node_modules/a/node_modules/b': { version: '2.0.0' },
  },
};

describe('lockDifference', () => {
  it('agrees when every package is installed at its version (optional ones may be absent)', () => {
    expect(lockDifference(lock, installed)).toBeUndefined();
  });
  it('names a missing package, another version and an extra one', () => {
    const { 'node_modules/a': _a, ...withoutA } = installed.packages;
    expect(lockDifference(lock, { packages: withoutA })).toBe('node_modules/a is missing');
    expect(
      lockDifference(lock, {
        packages: { ...installed.packages, 'node_modules/a': { version: '1.1.0' } },
      }),
    ).toBe('node_modules/a is 1.1.0, the lock file says 1.0.0');
    expect(
      lockDifference(lock, {
        packages: { ...installed.packages, 'node_modules/c': { version: '1.0.0' } },
      }),
    ).toBe('node_modules/c is not in the lock file');
  });
});

describe('depsStale', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const checkout = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'vmplane-bootstrap-'));
    dirs.push(d);
    writeFileSync(join(d, 'package-lock.json'), JSON.stringify(lock));
    return d;
  };

  it('reads the install record against the lock file, whatever their file times', () => {
    const d = checkout();
    expect(depsStale(d)).toBe('nothing installed');
    mkdirSync(join(d, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(d, 'node_modules', '.package-lock.json'), JSON.stringify(installed));
    // The lock file written again (a fresh checkout) is newer than the install: still current.
    writeFileSync(join(d, 'package-lock.json'), JSON.stringify(lock));
    expect(depsStale(d)).toBeUndefined();
    expect(depsStale(d, ['tsx'])).toBe('no tsx in node_modules/.bin');
  });

  it('tells a linked node_modules from a folder', () => {
    const shared = checkout();
    mkdirSync(join(shared, 'node_modules'));
    const d = checkout();
    expect(nodeModulesIsLink(d)).toBe(false);
    symlinkSync(join(shared, 'node_modules'), join(d, 'node_modules'));
    expect(nodeModulesIsLink(d)).toBe(true);
    expect(nodeModulesIsLink(shared)).toBe(false);
  });
});
