import { describe, expect, it } from 'vitest';
import { noQemuLine, tryLines, vmLines } from './sandbox.ts';

describe('what the sandbox prints', () => {
  it('lines up the VM commands with the others, naming the VM and its namespace', () => {
    const lines = vmLines({ namespace: 'demo', name: 'tiny-1' });
    expect(lines[0]).toBe(
      '  kubectl vm console tiny-1 -n demo      # its serial console (Ctrl-] leaves)',
    );
    const column = (l: string): number => l.indexOf('#');
    const others = tryLines('/r/.vmplane/kubeconfig', '/r/.vmplane/bin', '/r').slice(2);
    for (const l of lines) expect(column(l)).toBe(column(others[0]!));
  });

  it('says how to install QEMU when it is missing, and that the rest works', () => {
    expect(noQemuLine('qemu-system-x86_64')).toBe(
      'VMs will not run here: qemu-system-x86_64 not found (sudo apt-get install qemu-system-x86 qemu-utils, or brew install qemu); everything else works',
    );
  });
});
