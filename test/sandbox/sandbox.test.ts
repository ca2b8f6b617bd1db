// `npm start` end to end: the sandbox comes up with the examples applied, prints what it promised,
// and a signal stops every process it started and removes its files.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/generate.ts';
import { isAlive } from '../../cli/src/controlplane/controlplane.ts';
import { KubeRest } from '../../cli/src/rest.ts';
import { kubeConfigFrom } from '../../cli/src/kube.ts';

interface Started {
  child: ChildProcess;
  output: () => string;
  stateDir: string;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function startSandbox(): Promise<Started> {
  const stateDir = mkdtempSync(join(tmpdir(), 'vmplane-test-sandbox-state-'));
  dirs.push(stateDir);
  let out = '';
  const child = spawn(process.execPath, [join(REPO_ROOT, 'cli/bootstrap.mjs'), 'sandbox'], {
    cwd: REPO_ROOT,
    env: { ...process.env, VMPLANE_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 120_000;
  while (!out.includes('sandbox ready')) {
    if (child.exitCode !== null) throw new Error(`sandbox exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sandbox not ready in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out, stateDir };
}

async function stopWith(s: Started, sig: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill(sig);
  return exited;
}

describe('npm start (the sandbox)', () => {
  it('serves the vmplane API with the examples, prints how to use it, and stops cleanly on SIGINT', async () => {
    const s = await startSandbox();
    const record = JSON.parse(readFileSync(join(s.stateDir, 'sandbox.json'), 'utf8')) as { children: number[]; tempDir: string };
    const kubeconfig = join(s.stateDir, 'kubeconfig');
    try {
      expect(s.output()).toContain(`kubeconfig: ${kubeconfig}`);
      expect(s.output()).toContain('kubectl get vm -n demo');
      expect(record.children).toHaveLength(2);
      for (const pid of record.children) expect(isAlive(pid)).toBe(true);

      const rest = new KubeRest(kubeConfigFrom(kubeconfig));
      const vms = await rest.request<{ items: { metadata: { name: string } }[] }>('GET', '/apis/vmplane.io/v1alpha1/namespaces/demo/virtualmachines');
      rest.close();
      expect(vms.body.items.map((v) => v.metadata.name).sort()).toEqual(['db-1', 'web-1']);
      expect(existsSync(join(s.stateDir, 'bin', 'kubectl'))).toBe(true);
    } finally {
      expect(await stopWith(s, 'SIGINT')).toBe(0);
    }
    expect(s.output()).toContain('sandbox stopped');
    for (const pid of record.children) expect(isAlive(pid), `process ${pid}`).toBe(false);
    expect(existsSync(record.tempDir)).toBe(false);
    expect(existsSync(kubeconfig)).toBe(false);
    expect(existsSync(join(s.stateDir, 'sandbox.json'))).toBe(false);
  });

  it('stops cleanly on SIGTERM too', async () => {
    const s = await startSandbox();
    const record = JSON.parse(readFileSync(join(s.stateDir, 'sandbox.json'), 'utf8')) as { children: number[]; tempDir: string };
    expect(await stopWith(s, 'SIGTERM')).toBe(0);
    for (const pid of record.children) expect(isAlive(pid)).toBe(false);
    expect(existsSync(record.tempDir)).toBe(false);
  });
});
