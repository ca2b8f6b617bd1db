// Formatting and linting of the whole repository, with zero warnings: prettier (width 100) and
// typescript-eslint with the size rules of eslint.config.js outside the plugin; the plugin's own
// prettier configuration (Headlamp's) inside it. Its eslint runs in test/plugin/toolchain.test.ts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/src/paths.ts';

function run(bin: string, args: string[], cwd = REPO_ROOT): { code: number | null; out: string } {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('lint', () => {
  it('eslint finds no error and no warning', () => {
    const r = run(join(REPO_ROOT, 'node_modules/.bin/eslint'), ['--max-warnings', '0', '.']);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);

  it('prettier finds every file formatted', () => {
    const r = run(join(REPO_ROOT, 'node_modules/.bin/prettier'), ['--check', '.']);
    expect(r.out).toContain('All matched files use Prettier code style!');
    expect(r.code).toBe(0);
  }, 240_000);

  it("the plugin's files follow Headlamp's prettier configuration", () => {
    const plugin = join(REPO_ROOT, 'plugin');
    const r = run(
      join(plugin, 'node_modules/.bin/prettier'),
      ['--config', 'package.json', '--check', 'src', 'test', 'harness/main.tsx'],
      plugin,
    );
    expect(r.out).toContain('All matched files use Prettier code style!');
    expect(r.code).toBe(0);
  }, 240_000);
});
