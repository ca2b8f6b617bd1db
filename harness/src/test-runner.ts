// `npm test`: the plugin's tests (its own vitest, jsdom), then every other test (unit and
// integration) in one vitest run, then the timing tests (`*.alone.test.ts`) in a run of their own,
// then a leak check, then the plain `N passed, N failed` line CI reads. Every process the run starts carries VMPLANE_RUN_ID in its environment, so leftovers are
// found exactly, whatever else runs on the machine.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { ensureBinaries, ensureHelm } from './controlplane/binaries.ts';
import { processesTagged, tempDirsTagged } from './leaks.ts';
import { needsBrowser, needsQemu, rootRuns, splitArgs, type TestPlan } from './test-args.ts';
import {
  closingLine,
  countResults,
  filesFromJsonReport,
  type Counts,
  type JsonReport,
} from './test-summary.ts';
import { ensureConformance } from './controlplane/conformance.ts';
import {
  DEBIAN_IMAGE_TOOLS,
  ensurePackage,
  NODE_NETWORK,
  nodeNetworkStopLine,
  QEMU,
} from './packages.ts';
import { ensureChromium } from './ui/browser.ts';
import { ensurePluginBuilt, PLUGIN_DIR } from './ui/build.ts';

/** Everything the tests need before they start, with progress lines on a first run. */
async function prepare(plan: TestPlan): Promise<void> {
  // The browser tests need Chromium: installed here when allowed, else one line and no test run.
  if (needsBrowser(plan)) {
    const missing = ensureChromium((l) => console.log(l));
    if (missing) {
      console.error(missing);
      process.exit(1);
    }
  }
  // The global setup of every run builds the Debian cloud image on first use, with mmdebstrap,
  // syslinux and friends: never a green run with the Debian tests skipped.
  if (plan.root) {
    const missing = ensurePackage(DEBIAN_IMAGE_TOOLS, (l) => console.log(l));
    if (missing) {
      console.error(missing);
      process.exit(1);
    }
  }
  // The engine tests boot real VMs: QEMU, installed here when allowed, else one line and no run.
  if (needsQemu(plan)) {
    for (const need of [QEMU, NODE_NETWORK]) {
      const missing = ensurePackage(need, (l) => console.log(l));
      if (missing) {
        console.error(missing);
        process.exit(1);
      }
    }
    // Their VMs sit on the engine's node network (user namespaces): where refused, one line.
    const refused = await nodeNetworkStopLine();
    if (refused) {
      console.error(refused);
      process.exit(1);
    }
  }
  // The binaries are built here, before vitest, so a first run shows the build's progress.
  await ensureBinaries((l) => console.log(l));
  await ensureHelm((l) => console.log(l));
  await ensureConformance((l) => console.log(l));
  // The browser tests load the built plugin and harness page.
  ensurePluginBuilt((l) => console.log(l));
}

function add(to: Counts, c: Counts): void {
  to.passed += c.passed;
  to.failed += c.failed;
  to.skipped += c.skipped;
}

/**
 * The plugin's unit and component tests (jsdom, the real Headlamp lib) run with the plugin's own
 * vitest and toolchain; their counts join the total. A run with no report is one failure.
 */
async function runPluginTests(
  args: string[],
  scratch: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; counts: Counts }> {
  const report = join(scratch, 'plugin.json');
  const code = await run(
    join(PLUGIN_DIR, 'node_modules/.bin/vitest'),
    [
      'run',
      '--config',
      'vitest.config.mts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...args,
    ],
    PLUGIN_DIR,
    env,
  );
  try {
    return {
      code,
      counts: countResults(
        filesFromJsonReport(JSON.parse(readFileSync(report, 'utf8')) as JsonReport),
      ),
    };
  } catch {
    console.error('the plugin tests ended without a report (see their output above)');
    return { code, counts: { passed: 0, failed: 1, skipped: 0 } };
  }
}

/** Every other test in one vitest run; a run that ends without its summary is one failure. */
async function runRootTests(
  args: string[],
  scratch: string,
  env: NodeJS.ProcessEnv,
  n: number,
): Promise<{ code: number; counts: Counts }> {
  const summaryFile = join(scratch, `summary-${n}.json`);
  const code = await run(join(REPO_ROOT, 'node_modules/.bin/vitest'), ['run', ...args], REPO_ROOT, {
    ...env,
    VMPLANE_SUMMARY_FILE: summaryFile,
  });
  try {
    const counts = JSON.parse(readFileSync(summaryFile, 'utf8')) as Counts;
    // A failing global setup ends the run with a summary of nothing: that is a failure too.
    if (code !== 0 && counts.failed === 0) {
      console.error(`vitest exited with code ${code} and no failed test (see its output above)`);
      return { code, counts: { ...counts, failed: 1 } };
    }
    return { code, counts };
  } catch {
    // vitest ended before reporting (a crash, a failing global setup): count that as a failure.
    console.error('vitest ended without a summary (see its output above)');
    return { code, counts: { passed: 0, failed: 1, skipped: 0 } };
  }
}

/** Processes and temp folders the run left behind: reported (one failure), then removed. */
async function leakCheck(runId: string): Promise<boolean> {
  // Give exiting processes a moment, then look.
  await new Promise((r) => setTimeout(r, 500));
  const leaked = processesTagged(runId);
  const leftDirs = tempDirsTagged(runId);
  if (!leaked.length && !leftDirs.length) {
    console.log('\nleak check passed: no process or temp folder left behind');
    return true;
  }
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
  return false;
}

async function main(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const plan = splitArgs(process.argv.slice(2));
  await prepare(plan);
  const scratch = mkdtempSync(join(tmpdir(), 'vmplane-runner-'));
  const env = { ...process.env, VMPLANE_RUN_ID: runId };
  const summary: Counts = { passed: 0, failed: 0, skipped: 0 };
  let code = 0;
  if (plan.plugin) {
    const r = await runPluginTests(plan.plugin, scratch, env);
    code ||= r.code;
    add(summary, r.counts);
  }
  for (const [n, args] of (plan.root ? rootRuns(plan.root) : []).entries()) {
    if (interrupted) break;
    if (n > 0) console.log(`\ntiming tests, alone on the machine: vitest run ${args.join(' ')}`);
    const r = await runRootTests(args, scratch, env, n);
    code ||= r.code;
    add(summary, r.counts);
  }
  rmSync(scratch, { recursive: true, force: true });
  add(
    summary,
    (await leakCheck(runId))
      ? { passed: 1, failed: 0, skipped: 0 }
      : { passed: 0, failed: 1, skipped: 0 },
  );
  console.log(`\n${closingLine(summary)}`);
  process.exit(summary.failed > 0 || code !== 0 ? 1 : 0);
}

/** Set once Ctrl-C or SIGTERM was passed on: no further test run starts. */
let interrupted = false;

/** Runs a test process in the foreground, passing Ctrl-C and SIGTERM on; resolves its exit code. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals): void => {
      interrupted = true;
      child.kill(sig);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (c, sig) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(c ?? (sig ? 1 : 0));
    });
  });
}

await main();
