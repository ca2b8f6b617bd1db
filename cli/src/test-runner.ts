// `npm test`: every test (unit and integration) in one vitest run, then a leak check, then the
// plain `N passed, N failed` line CI reads. Every process the run starts carries VMPLANE_RUN_ID in
// its environment, so leftovers are found exactly, whatever else runs on the machine.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../api/src/generate.ts';
import { ensureBinaries, ensureHelm } from './controlplane/binaries.ts';
import { processesTagged, tempDirsTagged } from './leaks.ts';
import { ensurePluginBuilt } from './ui/build.ts';

async function main(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  // The binaries are built here, before vitest, so a first run shows the build's progress.
  await ensureBinaries((l) => console.log(l));
  await ensureHelm((l) => console.log(l));
  // The browser tests load the built plugin and harness page.
  ensurePluginBuilt((l) => console.log(l));

  const scratch = mkdtempSync(join(tmpdir(), 'vmplane-runner-'));
  const summaryFile = join(scratch, 'summary.json');
  const args = ['run', ...process.argv.slice(2)];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(join(REPO_ROOT, 'node_modules/.bin/vitest'), args, {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, VMPLANE_RUN_ID: runId, VMPLANE_SUMMARY_FILE: summaryFile },
    });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });

  let summary = { passed: 0, failed: 0, skipped: 0 };
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as typeof summary;
  } catch {
    // vitest ended before reporting (a crash, a failing global setup): count that as a failure.
    summary.failed += 1;
    console.error('vitest ended without a summary (see its output above)');
  }
  rmSync(scratch, { recursive: true, force: true });

  // Leak check: give exiting processes a moment, then look.
  await new Promise((r) => setTimeout(r, 500));
  const leaked = processesTagged(runId);
  const leftDirs = tempDirsTagged(runId);
  if (leaked.length || leftDirs.length) {
    summary.failed += 1;
    console.error('\nleak check FAILED: the tests left behind');
    for (const p of leaked) console.error(`  process ${p.pid}: ${p.cmd.slice(0, 160)}`);
    for (const d of leftDirs) console.error(`  folder ${d}`);
    for (const p of leaked) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const d of leftDirs) rmSync(d, { recursive: true, force: true });
  } else {
    summary.passed += 1;
    console.log('\nleak check passed: no process or temp folder left behind');
  }

  const skipped = summary.skipped ? `, ${summary.skipped} skipped` : '';
  console.log(`\n${summary.passed} passed, ${summary.failed} failed${skipped}`);
  process.exit(summary.failed > 0 || code !== 0 ? 1 : 0);
}

await main();
