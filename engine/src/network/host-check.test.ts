import { describe, expect, it } from 'vitest';
import {
  hostVerdict,
  testStopLine,
  userModeLine,
  userNamespaceFix,
  withSbin,
} from './host-check.ts';

describe('userNamespaceFix', () => {
  it('sets each sysctl that refuses user namespaces, and only those', () => {
    expect(userNamespaceFix({ 'kernel.unprivileged_userns_clone': '0\n' })).toBe(
      'sudo sysctl -w kernel.unprivileged_userns_clone=1',
    );
    expect(
      userNamespaceFix({
        'kernel.unprivileged_userns_clone': '1',
        'kernel.apparmor_restrict_unprivileged_userns': '1',
        'user.max_user_namespaces': '0',
      }),
    ).toBe(
      'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 user.max_user_namespaces=15000',
    );
  });
  it('names the sandbox (seccomp) when no sysctl refuses them', () => {
    expect(userNamespaceFix({ 'user.max_user_namespaces': '63000' })).toMatch(/seccomp=unconfined/);
  });
});

describe('hostVerdict and its lines', () => {
  const refused = {
    missingTools: [],
    refused: 'unshare: unshare failed: Operation not permitted',
    sysctls: { 'kernel.unprivileged_userns_clone': '0' },
  };
  it('is ok with the tools and user namespaces', () => {
    expect(hostVerdict({ missingTools: [], sysctls: {} })).toEqual({ ok: true });
  });
  it('names the packages of the missing tools first, in one install command', () => {
    const v = hostVerdict({ ...refused, missingTools: ['nft', 'dnsmasq'] });
    expect(v).toEqual({ ok: false, lost: 'tools', packages: ['dnsmasq-base', 'nftables'] });
    if (v.ok) throw new Error('ok');
    expect(testStopLine(v)).toBe(
      "the engine tests need the engine's node network, but dnsmasq-base and nftables are not installed: run `sudo apt-get install dnsmasq-base nftables`, then try again",
    );
  });
  it('says why user namespaces failed and the sysctl that allows them, in one line', () => {
    const v = hostVerdict(refused);
    if (v.ok) throw new Error('ok');
    const start = userModeLine(v);
    expect(start).toBe(
      'node network: user namespaces are refused here (unshare: unshare failed: Operation not permitted), so VMs get QEMU user-mode networking (each VM alone: no VM-to-VM traffic, no services, no NetworkPolicy, no L2 networks); to get them: sudo sysctl -w kernel.unprivileged_userns_clone=1',
    );
    expect(testStopLine(v)).toMatch(/run `sudo sysctl -w kernel.unprivileged_userns_clone=1`/);
    expect(start.split('\n')).toHaveLength(1);
  });
});

describe('withSbin', () => {
  it('adds the sbin folders a non-root PATH lacks, after its own, once', () => {
    expect(withSbin('/usr/bin:/bin')).toBe('/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin');
    expect(withSbin('/usr/sbin:/usr/bin')).toBe('/usr/sbin:/usr/bin:/usr/local/sbin:/sbin');
    expect(withSbin(undefined)).toBe('/usr/local/sbin:/usr/sbin:/sbin');
  });
});
