import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesTagged, tempDirsTagged } from './leaks.ts';

describe('leak check', () => {
  it('finds a live process carrying the run id, and forgets it once it exits', async () => {
    const runId = `leaktest${process.pid}`;
    const child = spawn('sleep', ['30'], {
      env: { ...process.env, VMPLANE_RUN_ID: runId },
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(processesTagged(runId).map((p) => p.pid)).toEqual([child.pid]);
      expect(processesTagged('some-other-run')).toEqual([]);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    expect(processesTagged(runId)).toEqual([]);
  });

  it('finds temp folders of the run and only those', () => {
    const base = mkdtempSync(join(tmpdir(), 'vmplane-leaks-'));
    try {
      const mine = mkdtempSync(join(base, 'vmplane-test-abc-'));
      mkdtempSync(join(base, 'vmplane-test-xyz-'));
      expect(tempDirsTagged('abc', base)).toEqual([mine]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
