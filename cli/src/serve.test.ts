import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';

const run = promisify(execFile);

describe('the container bundle', () => {
  it('builds into one file that picks its role from the argument', async () => {
    const out = join(REPO_ROOT, 'dist/vmplane.mjs');
    rmSync(out, { force: true });
    await run('npm', ['run', 'bundle'], { cwd: REPO_ROOT });
    expect(existsSync(out)).toBe(true);
    const r = await run(process.execPath, [out, 'neither']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain(
      'usage: serve webhooks|controllers (got "neither")',
    );
  }, 60_000);
});
