// The closing line of npm test counts every failure: a suite with a file that does not load and a
// file whose hook fails ends with those counted as failures, not as skipped tests.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';

describe('the closing line', () => {
  it('counts a file that fails to load and the tests a failed hook kept from running', () => {
    const env = { ...process.env };
    delete env.VMPLANE_SUMMARY_FILE;
    const r = spawnSync(
      join(REPO_ROOT, 'node_modules/.bin/vitest'),
      ['run', '--config', 'test/fixtures/broken-suite/vitest.config.ts'],
      {
        cwd: REPO_ROOT,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('1 passed, 3 failed, 1 skipped');
    expect(r.status).not.toBe(0);
  });
});
