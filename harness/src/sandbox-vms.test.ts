import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import {
  DEBIAN_VM,
  debianLines,
  EXAMPLE_SSH_KEY,
  sandboxExamples,
  sandboxSshKey,
} from './sandbox-vms.ts';

const vms = parseAllDocuments(readFileSync(join(REPO_ROOT, 'examples/50-vms.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { powerState?: string } },
);
const debian = (objects: typeof vms) => objects.find((o) => o.metadata.name === DEBIAN_VM.name);

describe('the examples the sandbox applies', () => {
  it('boot debian-1 by default, as written', () => {
    expect(debian(vms)?.spec.powerState).toBeUndefined();
    expect(sandboxExamples(vms, true)).toBe(vms);
  });

  it('make debian-1 stopped without Debian, leaving every other object as it is', () => {
    const out = sandboxExamples(vms, false);
    expect(debian(out)?.spec.powerState).toBe('PoweredOff');
    expect(debian(vms)?.spec.powerState).toBeUndefined();
    for (const [i, o] of out.entries())
      if (o.metadata.name !== DEBIAN_VM.name) expect(o).toBe(vms[i]);
    expect(out.find((o) => o.metadata.name === 'tiny-1')?.spec.powerState).toBeUndefined();
  });
});

describe("the sandbox's ssh key in debian-1", () => {
  type Vm = (typeof vms)[number] & {
    spec: { bootstrap?: { cloudInit?: { userData?: string } } };
  };
  const userData = (o: Vm | undefined): string => o?.spec.bootstrap?.cloudInit?.userData ?? '';
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOfThisSandbox vmplane-sandbox';

  it("replaces the example's placeholder for the user demo, and nothing else", () => {
    expect(userData(debian(vms) as Vm)).toContain(EXAMPLE_SSH_KEY);
    const out = sandboxExamples(vms, true, `${key}\n`) as Vm[];
    const data = userData(debian(out) as Vm);
    expect(data).not.toContain(EXAMPLE_SSH_KEY);
    expect(data).toContain(`- name: demo`);
    expect(data).toContain(`ssh_authorized_keys:\n      - ${key}\n`);
    expect(data.replace(key, EXAMPLE_SSH_KEY)).toBe(userData(debian(vms) as Vm));
    expect(debian(out)?.spec.powerState).toBeUndefined();
    for (const [i, o] of out.entries())
      if (o.metadata.name !== DEBIAN_VM.name) expect(o).toBe(vms[i]);
  });

  it('is made once with ssh-keygen in the state directory, private half readable by its owner only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmplane-sandbox-ssh-'));
    try {
      const lines: string[] = [];
      const first = await sandboxSshKey(dir, (l) => lines.push(l));
      expect(first).toMatch(/^ssh-ed25519 \S+ vmplane-sandbox$/);
      expect(statSync(join(dir, 'ssh/id_ed25519')).mode & 0o077).toBe(0);
      expect(await sandboxSshKey(dir, (l) => lines.push(l))).toBe(first);
      expect(lines).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps it with Debian off, which stops debian-1 too', () => {
    const out = sandboxExamples(vms, false, key) as Vm[];
    expect(userData(debian(out) as Vm)).toContain(key);
    expect(debian(out)?.spec.powerState).toBe('PoweredOff');
  });
});

describe('what the sandbox says of debian-1', () => {
  it('says when it runs, then the OS its agent named, with commands to try', () => {
    expect(debianLines('running', 41)).toEqual([
      'VM demo/debian-1 Running after 41 s (Debian 12 boots; cloud-init and its agent follow)',
    ]);
    const agent = debianLines('agent', 118, {
      status: { guestOS: { prettyName: 'Debian GNU/Linux 12 (bookworm)' } },
    });
    expect(agent[0]).toBe(
      'VM demo/debian-1: its guest agent answered after 118 s: Debian GNU/Linux 12 (bookworm); try:',
    );
    expect(agent.slice(1).map((l) => l.trim().split('#')[0]?.trim())).toEqual([
      'kubectl vm get debian-1 -n demo',
      'kubectl vm console debian-1 -n demo',
      'kubectl vm ssh demo@debian-1 -n demo',
    ]);
  });

  it('says so when no agent answered in time, with the VM’s status', () => {
    expect(debianLines('late', 900, { status: { printableStatus: 'Starting' } })).toEqual([
      'VM demo/debian-1: no guest agent after 900 s (Starting); kubectl vm get debian-1 -n demo says why',
    ]);
  });
});
