import { describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_TOOLS, NODE_NETWORK, planPackage, QEMU } from './packages.ts';

describe('planPackage', () => {
  it('uses what is there, installs with apt as root, else says what to run', () => {
    expect(planPackage(QEMU, { present: true, root: false, apt: false })).toEqual({
      action: 'use',
    });
    expect(planPackage(QEMU, { present: false, root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'qemu-system-x86', 'qemu-utils'],
      ],
    });
    expect(planPackage(QEMU, { present: false, root: false, apt: true })).toEqual({
      action: 'stop',
      message:
        'booting real VMs (the engine tests) needs qemu-system-x86_64 and qemu-img: run `sudo apt-get install qemu-system-x86 qemu-utils`, then try again',
    });
    expect(planPackage(QEMU, { present: false, root: false, apt: false })).toMatchObject({
      message: expect.stringContaining('`brew install qemu`') as string,
    });
  });
});

describe('the Debian image tools', () => {
  it('are installed with apt as root, else named with the exact command', () => {
    expect(planPackage(DEBIAN_IMAGE_TOOLS, { present: false, root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        [
          'apt-get',
          'install',
          '-y',
          '-qq',
          'mmdebstrap',
          'uidmap',
          'syslinux',
          'syslinux-common',
          'mtools',
          'dosfstools',
          'fdisk',
          'e2fsprogs',
          'qemu-utils',
          'genisoimage',
        ],
      ],
    });
    expect(planPackage(DEBIAN_IMAGE_TOOLS, { present: false, root: false, apt: true })).toEqual({
      action: 'stop',
      message: expect.stringContaining(
        'run `sudo apt-get install mmdebstrap uidmap syslinux syslinux-common mtools dosfstools fdisk e2fsprogs qemu-utils genisoimage`, then try again',
      ) as string,
    });
  });

  it("installs the node network's DHCP server and nftables like QEMU, or names them", () => {
    expect(planPackage(NODE_NETWORK, { present: false, root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'dnsmasq-base', 'nftables'],
      ],
    });
    expect(planPackage(NODE_NETWORK, { present: false, root: false, apt: true })).toEqual({
      action: 'stop',
      message:
        "the engine's node network (the engine tests) needs dnsmasq and nft: run `sudo apt-get install dnsmasq-base nftables`, then try again",
    });
  });
});
