// Finding what a test run left behind: processes tagged with its run id, and its temp folders.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Pids (other than `self`) whose environment carries RUN_ID=`runId`. */
export function processesTagged(runId: string, self = process.pid): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  const needle = `VMPLANE_RUN_ID=${runId}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === self) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!`${env}\0`.includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // a zombie has already exited
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      found.push({ pid: Number(entry), cmd });
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}

export function tempDirsTagged(runId: string, dir = tmpdir()): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith(`vmplane-test-${runId}-`))
    .map((n) => join(dir, n));
}
