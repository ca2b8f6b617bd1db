// A newcomer's first ten minutes, as written: a fresh copy of the repository, `npm start` in the
// background, then every command the sandbox prints and every command of the sandbox blocks
// marked `<!-- newcomer -->` in the README and in docs/*.md, run with bash exactly as written after
// the printed export, each output checked against what the documentation and the sandbox say it
// shows.
//
// The copy holds the repository's files as a clone would (tracked and new files, not ignored
// ones); the npm dependencies are linked and the built plugin copied from this checkout, so the
// test costs seconds, not the first-use install that CI's own fresh clone shows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../../harness/src/ui/browser.ts';

interface Ran {
  command: string;
  code: number | null;
  out: string;
}

/** What each command must show. A command with no entry here fails the test: add one. */
const CHECKS: Record<string, (r: Ran) => void> = {
  'kubectl get vmplane -A': (r) => {
    expectOk(r);
    for (const o of [
      'virtualmachine.vmplane.io/web-1',
      'virtualmachineclass.vmplane.io/best-effort-small',
      'virtualmachinepolicy.vmplane.io/',
    ])
      expect(r.out).toContain(o);
  },
  'kubectl get vmpvm -n demo': (r) => {
    expectOk(r);
    expect(header(r)).toEqual(['NAME', 'CLASS', 'IMAGE', 'POWER', 'STATUS', 'IP', 'NODE', 'AGE']);
    expect(names(r)).toEqual(['db-1', 'debian-1', 'tiny-1', 'web-1']);
    expect(r.out).toMatch(
      /tiny-1\s+best-effort-small\s+tiny-linux\s+PoweredOn\s+Running\s+10\.244\.0\.\d+/,
    );
  },
  'kubectl explain vmpvm.spec.className': (r) => {
    expectOk(r);
    expect(r.out).toMatch(/GROUP:\s+vmplane\.io/);
    expect(r.out).toMatch(/FIELD:\s+className <string>/);
  },
  'kubectl get vmclass': (r) => {
    expectOk(r);
    expect(names(r)).toEqual(
      expect.arrayContaining(['best-effort-small', 'guaranteed-medium', 'gpu-large']),
    );
  },
  'kubectl vm list -n demo': (r) => {
    expectOk(r);
    expect(header(r)).toEqual(['NAME', 'STATUS', 'CLASS', 'IMAGE', 'IP', 'NODE', 'AGE']);
    expect(names(r)).toEqual(['db-1', 'debian-1', 'tiny-1', 'web-1']);
    expect(r.out).toMatch(/tiny-1\s+Running\s+best-effort-small\s+tiny-linux\s+10\.244\.0\.\d+/);
  },
  'kubectl get pvc -n demo': (r) => {
    expectOk(r);
    // Every example disk, and every VM's: Bound to a volume the local engine provisioned.
    const claims = names(r);
    expect(claims).toEqual(expect.arrayContaining(['legacy-root', 'pg-data']));
    for (const vm of ['debian-1', 'tiny-1', 'web-1'])
      expect(
        claims.some((c) => c.startsWith(`${vm}-boot-`)),
        `${vm}'s boot disk`,
      ).toBe(true);
    for (const line of r.out.trim().split('\n').slice(1)) expect(line).toMatch(/\sBound\s/);
  },
  'kubectl vm get debian-1 -n demo': (r) => {
    expectOk(r);
    expect(r.out).toMatch(/GUEST OS\s+Debian GNU\/Linux 12 \(bookworm\)/);
    expect(r.out).toMatch(/AGENT\s+connected/);
  },
  'kubectl vm classes -n demo': (r) => {
    expectOk(r);
    expect(names(r)).toEqual(['best-effort-small', 'guaranteed-medium']);
  },
  'kubectl apply -f examples/50-vms.yaml': (r) => {
    expectOk(r);
    expect(r.out).toMatch(/virtualmachine\.vmplane\.io\/web-1 (unchanged|configured)/);
  },
  "kubectl get vmpvm web-1 -n demo -o jsonpath='{.spec.bootDisk}'": (r) => {
    expectOk(r);
    const disk = JSON.parse(r.out) as Record<string, unknown>;
    expect(disk).toMatchObject({
      storageClassName: expect.any(String),
      volumeMode: expect.any(String),
    });
    expect(disk.accessModes ?? disk.accessMode).toBeTruthy();
  },
  'kubectl delete vmclass best-effort-small': (r) => {
    expect(r.code, r.out).not.toBe(0);
    // A cluster-scoped class's users are counted, not named (they may be in other namespaces).
    expect(r.out).toMatch(/"best-effort-small" is still used by \d+ VMs? or disks?/);
  },
  'kubectl get policyreports -n demo': (r) => {
    expectOk(r);
    expect(names(r).length).toBeGreaterThan(0);
  },
  'kubectl get vmpolicy -o wide': (r) => {
    expectOk(r);
    expect(header(r)).toContain('NATIVE');
    // The example policy's CEL rule runs in the API server; its maxMemory reads the class.
    const row = r.out.split('\n').find((l) => l.startsWith('warn-large-vms-in-development '));
    expect(row, r.out).toContain('owner-label');
    expect(row, r.out).not.toContain('maxMemory');
  },
  'kubectl get validatingadmissionpolicies': (r) => {
    expectOk(r);
    expect(names(r)).toContain('vmplane-policy-warn-large-vms-in-development');
  },
  'kubectl vm ssh demo@debian-1 -n demo -- cat /etc/vmplane/hello.txt': (r) => {
    expectOk(r);
    expect(r.out).toContain(`written by cloud-init from the VM's user data`);
  },
  'kubectl vm networks': (r) => {
    expectOk(r);
    expect(header(r)).toEqual([
      'NAME',
      'TYPE',
      'VLAN',
      'CIDR',
      'ALLOCATED',
      'FREE',
      'NAMESPACES',
      'AGE',
    ]);
    // The examples' lab, with tiny-1's address taken from its pool.
    expect(r.out).toMatch(/^lab\s+L2\s+-?\s*192\.168\.100\.0\/24\s+[1-9]\d*\s+\d+/m);
  },
  'kubectl vm get tiny-1 -n demo': (r) => {
    expectOk(r);
    // One row per interface: the pod network, and lab with a MAC and the pool's address.
    expect(r.out).toMatch(/^nic1\s+lab\s+02:76:6d(:[0-9a-f]{2}){3}\s+192\.168\.100\.\d+/m);
  },
  'npm run vmplane -- policy test examples/policies': (r) => {
    expectOk(r);
    const met = /(\d+) of (\d+) expectations met/.exec(r.out);
    expect(met, r.out).not.toBeNull();
    expect(met![1]).toBe(met![2]);
  },
};

/** Commands with a here-document are keyed by their first line. */
const HEREDOC_CHECKS: Record<string, (r: Ran) => void> = {
  "kubectl apply -f - <<'EOF'": (r) => {
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain('Error from server (Forbidden)');
    expect(r.out).toContain(
      'spec.className: class "gpu-large" is not available in namespace "demo"; available: best-effort-small, guaranteed-medium',
    );
  },
};

function expectOk(r: Ran): void {
  expect(r.code, `${r.command}\n${r.out}`).toBe(0);
}
function header(r: Ran): string[] {
  return (r.out.split('\n')[0] ?? '')
    .trim()
    .split(/\s{2,}|\s(?=[A-Z]+\b)/)
    .filter(Boolean);
}
function names(r: Ran): string[] {
  return r.out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0]!)
    .filter(Boolean)
    .sort();
}

/** The commands of a shell block: comments dropped, here-documents kept whole. */
export function commandsOf(block: string): string[] {
  const lines = block.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\s+#\s.*$/, '').trimEnd();
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const heredoc = line.match(/<<'?(\w+)'?$/);
    if (!heredoc) {
      out.push(line.trim());
      continue;
    }
    const body = [line];
    while (++i < lines.length && lines[i] !== heredoc[1]) body.push(lines[i]!);
    body.push(heredoc[1]!);
    out.push(body.join('\n'));
  }
  return out;
}

/** The pages a newcomer reads, relative to `root`: the README, then docs/*.md by name. */
function docPages(root: string): string[] {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...docs];
}

/** The shell blocks marked `<!-- newcomer -->` in the README and docs/*.md, with their page. */
function newcomerBlocks(): { page: string; block: string }[] {
  return docPages(REPO_ROOT).flatMap((page) => {
    const text = readFileSync(join(REPO_ROOT, page), 'utf8');
    return [...text.matchAll(/<!-- newcomer -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({
      page,
      block: m[1]!,
    }));
  });
}

function freshCopy(): string {
  const dir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-newcomer-`),
  );
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .stdout.split('\0')
    .filter((f) => f && existsSync(join(REPO_ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(REPO_ROOT, f), join(dir, f), { preserveTimestamps: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(REPO_ROOT, 'plugin', 'node_modules'), join(dir, 'plugin', 'node_modules'));
  for (const built of ['plugin/dist', 'plugin/harness/dist'])
    cpSync(join(REPO_ROOT, built), join(dir, built), { recursive: true, preserveTimestamps: true });
  return dir;
}

let clone: string;
let sandbox: ChildProcess;
let printed = '';

beforeAll(async () => {
  clone = freshCopy();
  sandbox = spawn('npm', ['start'], {
    cwd: clone,
    env: { ...process.env, VMPLANE_UI_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  sandbox.stdout?.on('data', (b: Buffer) => (printed += b.toString()));
  sandbox.stderr?.on('data', (b: Buffer) => (printed += b.toString()));
  const deadline = Date.now() + 270_000;
  while (!printed.includes('vmplane sandbox ready')) {
    if (sandbox.exitCode !== null) throw new Error(`npm start exited early:\n${printed}`);
    if (Date.now() > deadline) throw new Error(`npm start not ready in time:\n${printed}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 300_000);

afterAll(async () => {
  if (sandbox && sandbox.exitCode === null) {
    const exited = new Promise((r) => sandbox.once('exit', r));
    process.kill(-sandbox.pid!, 'SIGINT'); // Ctrl-C reaches the whole foreground group
    await exited;
  }
  if (clone) rmSync(clone, { recursive: true, force: true });
}, 30_000);

function printedTryLines(): { exportLine: string; commands: string[] } {
  const lines = printed.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'try:');
  const block: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('  ')) break;
    block.push(l);
  }
  const cmds = commandsOf(block.join('\n'));
  return { exportLine: cmds[0]!, commands: cmds.slice(1) };
}

/** The commands the sandbox prints for the VM that runs (after "VM demo/tiny-1 Running ...; try:"). */
function printedVmLines(): { header: string; commands: string[] } {
  const lines = printed.split('\n');
  const start = lines.findIndex((l) => /^VM \S+ .*; (then )?try:$/.test(l));
  const block: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('  ')) break;
    block.push(l);
  }
  return { header: lines[start] ?? '', commands: commandsOf(block.join('\n')) };
}

/**
 * Runs an interactive command under a pseudo-terminal (util-linux `script`), typing `input` once
 * `ready` shows, and Ctrl-] once `done` shows; resolves with what the terminal showed.
 */
function runInTerminal(
  exportLine: string,
  command: string,
  steps: { ready: string; input: string; done: string },
): Promise<Ran> {
  const child = spawn('script', ['-qfc', `bash -c '${exportLine}; ${command}'`, '/dev/null'], {
    cwd: clone,
    env: { ...process.env, KUBECONFIG: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let typed = false;
  let left = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // The terminal may be gone by the time a write lands: that is the command ending, not an error.
  child.stdin.on('error', () => undefined);
  const onData = (b: Buffer): void => {
    out += b.toString('latin1');
    if (!typed && out.includes(steps.ready)) {
      typed = true;
      child.stdin.write(steps.input);
    }
    if (typed && !left && out.includes(steps.done)) {
      left = true;
      child.stdin.write('\x1d');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ command, code, out });
    }),
  );
}

function runAsWritten(exportLine: string, command: string): Ran {
  const r = spawnSync('bash', ['-c', `${exportLine}\n${command}`], {
    cwd: clone,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KUBECONFIG: '' },
  });
  return { command, code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('a newcomer after npm start', () => {
  it('prints the export line the documentation shows', () => {
    const { exportLine } = printedTryLines();
    expect(exportLine).toBe('export KUBECONFIG=.vmplane/kubeconfig PATH=.vmplane/bin:$PATH');
    const pages = docPages(clone);
    const showing = pages.filter((p) => readFileSync(join(clone, p), 'utf8').includes(exportLine));
    expect(showing, `none of ${pages.join(', ')} shows \`${exportLine}\``).not.toEqual([]);
  });

  it('runs every command the sandbox prints, as printed', () => {
    const { exportLine, commands } = printedTryLines();
    expect(commands.length).toBeGreaterThan(4);
    for (const c of commands) {
      const check = CHECKS[c];
      expect(
        check,
        `the sandbox prints \`${c}\`, which this test does not check yet`,
      ).toBeDefined();
      check!(runAsWritten(exportLine, c));
    }
  }, 300_000);

  it('boots the example VM before ready, and its printed commands work: the console answers, pause pauses', async () => {
    const { header, commands } = printedVmLines();
    expect(header).toMatch(
      /^VM demo\/tiny-1 Running at 10\.244\.0\.\d+: a real guest under QEMU; try:$/,
    );
    expect(commands).toEqual([
      'kubectl vm console tiny-1 -n demo',
      'kubectl vm pause tiny-1 -n demo',
    ]);
    const { exportLine } = printedTryLines();
    const console_ = await runInTerminal(exportLine, commands[0]!, {
      ready: 'Escape sequence is ^]',
      input: 'echo newcomer-$((6*7))\r',
      done: 'newcomer-42',
    });
    expect(console_.code, console_.out).toBe(0);
    expect(console_.out).toContain('newcomer-42');
    expect(console_.out).toContain('Disconnected.');
    const paused = runAsWritten(exportLine, `${commands[1]} --wait`);
    expect(paused.code, paused.out).toBe(0);
    expect(paused.out).toContain('virtualmachine/tiny-1 is Paused');
    const resumed = runAsWritten(exportLine, 'kubectl vm resume tiny-1 -n demo --wait');
    expect(resumed.code, resumed.out).toBe(0);
  }, 120_000);

  it('boots debian-1 after ready: its guest agent answers, and the commands it prints work', async () => {
    const deadline = Date.now() + 900_000;
    while (!/VM demo\/debian-1: (its guest agent answered|no guest agent)/.test(printed)) {
      if (Date.now() > deadline) throw new Error(`no word of debian-1's agent:\n${printed}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const lines = printed.split('\n');
    const at = lines.findIndex((l) => l.startsWith('VM demo/debian-1: '));
    expect(lines[at]).toMatch(
      /^VM demo\/debian-1: its guest agent answered after \d+ s: Debian GNU\/Linux 12 \(bookworm\); try:$/,
    );
    const commands = commandsOf(lines.slice(at + 1, at + 4).join('\n'));
    expect(commands).toEqual([
      'kubectl vm get debian-1 -n demo',
      'kubectl vm console debian-1 -n demo',
      'kubectl vm ssh demo@debian-1 -n demo',
    ]);
    const { exportLine } = printedTryLines();
    CHECKS[commands[0]!]!(runAsWritten(exportLine, commands[0]!));
    const console_ = await runInTerminal(exportLine, commands[1]!, {
      ready: 'Escape sequence is ^]',
      input: '\r',
      done: 'debian-1 login:',
    });
    expect(console_.code, console_.out).toBe(0);
    expect(console_.out).toContain('debian-1 login:');
    // ssh as printed, with a command: the key the sandbox made, put in by cloud-init, lets it in.
    const ssh = runAsWritten(exportLine, `${commands[2]} -- cat /etc/vmplane/hello.txt`);
    expect(ssh.code, ssh.out).toBe(0);
    expect(ssh.out).toContain(`written by cloud-init from the VM's user data`);
  }, 960_000);

  it('runs every command of the sandbox blocks in the README and docs/, as written', () => {
    const { exportLine } = printedTryLines();
    const blocks = newcomerBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const { page, c } of blocks.flatMap((b) =>
      commandsOf(b.block).map((c) => ({ page: b.page, c })),
    )) {
      if (c.startsWith('export ')) {
        expect(c, page).toBe(exportLine);
        continue;
      }
      const check = CHECKS[c] ?? HEREDOC_CHECKS[c.split('\n')[0]!];
      expect(check, `${page} shows \`${c}\`, which this test does not check yet`).toBeDefined();
      check!(runAsWritten(exportLine, c));
    }
  }, 300_000);

  it('opens the printed UI address: Headlamp with the plugin, the VM list and a VM, in light and dark', async () => {
    const url = /UI \(the Headlamp plugin\): (\S+)/.exec(printed)?.[1];
    expect(url, printed).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/c\/sandbox\/vmplane\/vms\?token=[0-9a-f]{32}$/,
    );
    const shots = join(REPO_ROOT, 'test-results', 'sandbox');
    mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url!);
      // Headlamp's app bar, with the cluster.
      const appBar = page.getByRole('navigation', { name: 'Appbar Tools' });
      await appBar.getByLabel('Cluster sandbox').waitFor();
      // The VM list, inside Headlamp's layout, with Headlamp's namespace chooser.
      const main = page.getByRole('main');
      await main.getByRole('link', { name: 'web-1', exact: true }).waitFor({ timeout: 30_000 });
      await main.getByRole('link', { name: 'db-1', exact: true }).waitFor();
      await main.getByRole('combobox').first().click();
      await page.getByRole('option', { name: 'demo', exact: true }).click();
      await main.getByRole('link', { name: 'web-1', exact: true }).waitFor();
      await page.keyboard.press('Escape');
      await page.screenshot({ path: join(shots, 'vm-list.png') });
      // Headlamp's own sidebar holds the plugin's entries beside Headlamp's.
      const sidebar = page.getByRole('navigation', { name: 'Navigation' });
      await sidebar.getByRole('button', { name: 'Virtual Machines', exact: true }).waitFor();
      await sidebar.getByRole('button', { name: 'VMs', exact: true }).waitFor();
      await sidebar.getByRole('button', { name: 'Workloads', exact: true }).waitFor();
      // A VM's page.
      await main.getByRole('link', { name: 'web-1', exact: true }).click();
      await page.getByText('VirtualMachine: web-1').waitFor();
      await page.screenshot({ path: join(shots, 'vm-details.png') });
      // The dark theme, as Headlamp switches it.
      const background = (): Promise<string> =>
        page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      const light = await background();
      await appBar.getByRole('button', { name: 'Dark theme' }).click();
      await expect.poll(background).not.toBe(light);
      await page.screenshot({ path: join(shots, 'vm-details-dark.png') });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
