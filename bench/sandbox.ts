// `npm start` with the local engine: the time from the command to the first VM Running, beside
// the same sandbox started without the engine (the floor: control plane, webhooks, controllers,
// examples, UI). The tiny Linux image's first-use build is timed apart, into a fresh cache.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/src/paths.ts';
import { ensureTinyLinux } from '../engine/src/tiny-linux.ts';
import { median } from './measure.ts';
import { stop } from './processes.ts';

export interface SandboxBench {
  runs: number;
  /** Median ms from the command to "vmplane sandbox ready", without the engine. */
  floorReadyMs: number;
  /** Median ms from the command to the line saying demo/tiny-1 runs. */
  vmRunningMs: number;
  /** Median ms from the examples applied to that line: the boot as the engine sees it. */
  vmAfterExamplesMs: number;
  /** Median ms from the command to "vmplane sandbox ready", with the engine. */
  readyMs: number;
  /** The tiny Linux image built into an empty cache (download, unpack, initramfs). */
  imageBuildMs: number;
  /**
   * Without the engine, each start-up step's end (ms from the sandbox process's start, from its
   * VMPLANE_STARTUP_PROFILE table), median over the runs: where the time to ready goes.
   */
  floorSteps: Record<string, number>;
}

/** The steps of the start-up profile the sandbox prints: name and end (ms), as printed. */
export function profileEnds(out: string): Record<string, number> {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => l.startsWith('start-up profile'));
  const ends: Record<string, number> = {};
  if (at < 0) return ends;
  for (const l of lines.slice(at + 2)) {
    const m = /^ {2}(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(l);
    if (!m) break;
    ends[m[1]!] = Number(m[3]);
  }
  return ends;
}

/** One `npm start` (the sandbox command itself), with the time each awaited line appeared. */
async function startOnce(
  args: string[],
  lines: string[],
  profile?: Record<string, number>[],
): Promise<Record<string, number>> {
  const stateDir = mkdtempSync(join(tmpdir(), 'vmplane-bench-sandbox-'));
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'harness/bootstrap.mjs'), 'sandbox', ...args],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        VMPLANE_STATE_DIR: stateDir,
        VMPLANE_UI_PORT: '0',
        VMPLANE_STARTUP_PROFILE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const seen: Record<string, number> = {};
  let out = '';
  const onData = (b: Buffer): void => {
    out += b.toString();
    for (const l of lines) if (!(l in seen) && out.includes(l)) seen[l] = Date.now() - started;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  try {
    const deadline = Date.now() + 300_000;
    while (!lines.every((l) => l in seen)) {
      if (child.exitCode !== null) throw new Error(`the sandbox exited:\n${out}`);
      if (Date.now() > deadline)
        throw new Error(`the sandbox did not print ${lines.join(', ')}:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    profile?.push(profileEnds(out));
    return seen;
  } finally {
    await stop(child, 'SIGINT');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function sandboxBench(runs = 3): Promise<SandboxBench> {
  const ready = 'vmplane sandbox ready';
  const applied = 'objects from examples/';
  const running = 'VM demo/tiny-1 Running';
  const floor: number[] = [];
  const floorProfiles: Record<string, number>[] = [];
  const withEngine: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    console.log(`sandbox: start ${i + 1} of ${runs} without the engine, then with it`);
    floor.push((await startOnce(['--no-engine'], [ready], floorProfiles))[ready]!);
    withEngine.push(await startOnce([], [applied, running, ready]));
  }
  const cache = mkdtempSync(join(tmpdir(), 'vmplane-bench-image-'));
  const t0 = Date.now();
  try {
    await ensureTinyLinux(cache, (l) => console.log(l));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  return {
    runs,
    floorReadyMs: median(floor),
    vmRunningMs: median(withEngine.map((x) => x[running]!)),
    vmAfterExamplesMs: median(withEngine.map((x) => x[running]! - x[applied]!)),
    readyMs: median(withEngine.map((x) => x[ready]!)),
    imageBuildMs: Date.now() - t0,
    floorSteps: Object.fromEntries(
      Object.keys(floorProfiles[0] ?? {}).map((k) => [
        k,
        median(floorProfiles.map((p) => p[k] ?? 0)),
      ]),
    ),
  };
}
