// The tests run TypeScript through tsx, which strips types without checking them; this test makes
// `tsc --noEmit` (strict, noUnusedLocals) part of every run, so CI fails on a type error.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/src/paths.ts';

describe('TypeScript', () => {
  it('type-checks the whole project in strict mode', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', REPO_ROOT],
        { cwd: REPO_ROOT, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
      );
    });
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 180_000);
});
