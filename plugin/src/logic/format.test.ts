import { describe, expect, it } from 'vitest';
import {
  diskSourceLabel,
  displayStatus,
  formatBytes,
  formatMemory,
  formatSize,
  imageLabel,
  isPositiveQuantity,
  statusColour,
} from './format';

describe('statusColour', () => {
  it('is green when running, plain when stopped', () => {
    expect(statusColour('Running')).toBe('success');
    expect(statusColour('Stopped')).toBe('');
    expect(statusColour(undefined)).toBe('');
  });
  it('is amber while the VM is on its way somewhere', () => {
    for (const s of ['Starting', 'Stopping', 'Provisioning', 'Migrating', 'Paused', 'Terminating'])
      expect(statusColour(s)).toBe('warning');
  });
  it('is red for every failure, including ones it does not know by name', () => {
    for (const s of [
      'ErrorUnschedulable',
      'CrashLoopBackOff',
      'DataVolumeError',
      'Unknown',
      'Boom',
    ])
      expect(statusColour(s)).toBe('error');
  });
});

describe('formatBytes', () => {
  it('uses the largest binary unit that reads well', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4 GiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(3 * 1024 ** 6)).toBe('3072 PiB');
  });
  it('shows a dash for no number', () => {
    expect(formatBytes(undefined)).toBe('-');
    expect(formatBytes(Number.NaN)).toBe('-');
  });
});

describe('formatMemory', () => {
  it('reads Kubernetes quantities in binary and decimal units', () => {
    expect(formatMemory('4Gi')).toBe('4 GiB');
    expect(formatMemory('512Mi')).toBe('512 MiB');
    expect(formatMemory('1G')).toBe('953.7 MiB');
  });
  it('shows text that is not a quantity as it is, and a dash for nothing', () => {
    expect(formatMemory('lots')).toBe('lots');
    expect(formatMemory(undefined)).toBe('-');
  });
});

describe('formatSize', () => {
  it('joins vCPUs and memory', () => {
    expect(formatSize(2, '4Gi')).toBe('2 vCPU, 4 GiB');
    expect(formatSize(1, undefined)).toBe('1 vCPU');
    expect(formatSize(undefined, undefined)).toBe('-');
  });
});

describe('displayStatus', () => {
  it('prefers KubeVirt printable status, then phase, then Unknown', () => {
    expect(displayStatus({ status: { printableStatus: 'Running', phase: 'Ready' } as never })).toBe(
      'Running'
    );
    expect(displayStatus({ status: { phase: 'Provisioning' } as never })).toBe('Provisioning');
    expect(displayStatus({})).toBe('Unknown');
  });
  it('says Terminating once deletion started, whatever status says', () => {
    expect(
      displayStatus({
        metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' },
        status: { printableStatus: 'Running' } as never,
      })
    ).toBe('Terminating');
  });
});

describe('imageLabel', () => {
  it('marks images of the cluster library', () => {
    expect(imageLabel({ className: 'c', image: { kind: 'VirtualMachineImage', name: 'u' } })).toBe(
      'u'
    );
    expect(
      imageLabel({ className: 'c', image: { kind: 'ClusterVirtualMachineImage', name: 'u' } })
    ).toBe('cluster/u');
  });
  it('names the boot disk when there is no image', () => {
    expect(
      imageLabel({ className: 'c', disks: [{ name: 'root', boot: true, size: '1Gi' }] } as never)
    ).toBe('disk: root');
    expect(imageLabel({ className: 'c' })).toBe('-');
  });
});

describe('isPositiveQuantity', () => {
  it('accepts sizes above zero', () => {
    for (const q of ['20Gi', '1', '500M', '1.5Ti']) expect(isPositiveQuantity(q)).toBe(true);
  });
  it('refuses zero, signs and words', () => {
    for (const q of ['0', '0Gi', '-1Gi', '+1Gi', 'big', '', '20 GB'])
      expect(isPositiveQuantity(q)).toBe(false);
  });
});

describe('diskSourceLabel', () => {
  it('names what the disk starts with', () => {
    expect(diskSourceLabel({ size: '1Gi' })).toBe('blank');
    expect(diskSourceLabel({ size: '1Gi', source: { disk: { name: 'golden' } } })).toBe(
      'clone of disk golden'
    );
    expect(
      diskSourceLabel({ size: '1Gi', source: { pvc: { name: 'c', namespace: 'base' } } })
    ).toBe('clone of claim base/c');
    expect(
      diskSourceLabel({
        size: '1Gi',
        source: { image: { kind: 'ClusterVirtualMachineImage', name: 'debian-12' } },
      })
    ).toBe('image debian-12');
    expect(diskSourceLabel({ size: '1Gi', source: { image: { name: 'mine' } } })).toBe(
      'image (namespace) mine'
    );
  });
});
