// The built-in rules (rules.ts), each case a VM evaluated against one rule, and the allowedImages
// glob patterns compiled once.
import { describe, expect, it } from 'vitest';
import type { VirtualMachine } from '../../api/generated/types.ts';
import { celEngine } from '../../test/support/cel.ts';
import { policy, policyRunner, vm, type Spec } from '../../test/support/policy.ts';
import { imageMatchers } from './rules.ts';

const run = policyRunner(await celEngine());

// [name, rules, vm, expected result of that rule, words in the message]
const builtins: [string, NonNullable<Spec['rules']>, VirtualMachine, 'pass' | 'fail', string][] = [
  ['allowed class by name', { allowedClasses: { names: ['small'] } }, vm(), 'pass', ''],
  [
    'class not in the names',
    { allowedClasses: { names: ['prod-medium'] } },
    vm(),
    'fail',
    'class "small" is not allowed; allowed: prod-medium',
  ],
  [
    'allowed class by label selector',
    { allowedClasses: { selector: { matchLabels: { tier: 'prod' } } } },
    vm({ className: 'prod-medium' }),
    'pass',
    '',
  ],
  [
    'class outside the selector',
    { allowedClasses: { selector: { matchLabels: { tier: 'prod' } } } },
    vm(),
    'fail',
    "classes matching the policy's selector",
  ],
  [
    'guaranteed only, guaranteed class',
    { allowedClasses: { reservations: ['Guaranteed'] } },
    vm({ className: 'prod-medium' }),
    'pass',
    '',
  ],
  [
    'guaranteed only, best-effort class',
    { allowedClasses: { reservations: ['Guaranteed'] } },
    vm(),
    'fail',
    'class "small" is BestEffort; only Guaranteed classes are allowed',
  ],
  [
    'an unresolvable class',
    { allowedClasses: { names: ['small'] } },
    vm({ className: 'ghost' }),
    'fail',
    'class "ghost" could not be resolved',
  ],
  ['image by exact name', { allowedImages: ['ubuntu-24.04'] }, vm(), 'pass', ''],
  [
    'image by glob',
    { allowedImages: ['ubuntu-*'] },
    vm({ image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-22.04' } }),
    'pass',
    '',
  ],
  [
    'image outside the globs',
    { allowedImages: ['ubuntu-*'] },
    vm({ image: { kind: 'ClusterVirtualMachineImage', name: 'windows-2022' } }),
    'fail',
    'image "windows-2022" is not in the approved library; allowed: ubuntu-*',
  ],
  [
    'image by kind/name glob',
    { allowedImages: ['ClusterVirtualMachineImage/*'] },
    vm(),
    'pass',
    '',
  ],
  [
    'namespace image against a cluster-only glob',
    { allowedImages: ['ClusterVirtualMachineImage/*'] },
    vm({ image: { kind: 'VirtualMachineImage', name: 'mine' } }),
    'fail',
    'not in the approved library',
  ],
  [
    'no image (boots from a disk)',
    { allowedImages: ['ubuntu-*'] },
    vm({
      image: undefined,
      bootDisk: undefined,
      disks: [{ name: 'root', virtualMachineDiskName: 'data', boot: true }],
    }),
    'pass',
    '',
  ],
  ['cpus within the cap', { maxCPUs: 4 }, vm(), 'pass', ''],
  [
    'cpus over the cap',
    { maxCPUs: 16 },
    vm({ className: 'big' }),
    'fail',
    '32 vCPUs (class "big") exceed the maximum of 16',
  ],
  [
    'memory 8192Mi against 8Gi (equal is fine)',
    { maxMemory: '8Gi' },
    vm({ className: 'mem-8192mi' }),
    'pass',
    '',
  ],
  [
    'memory 128Gi against 64Gi',
    { maxMemory: '64Gi' },
    vm({ className: 'big' }),
    'fail',
    'memory 128Gi (class "big") exceeds the maximum of 64Gi',
  ],
  [
    'memory 16Gi against 8192Mi (units differ)',
    { maxMemory: '8192Mi' },
    vm({ className: 'prod-medium' }),
    'fail',
    'memory 16Gi',
  ],
  [
    'disks within the count',
    { maxDisks: 2 },
    vm({ disks: [{ name: 'a', size: '1Gi' }] }),
    'pass',
    '',
  ],
  [
    'too many disks (boot disk counts)',
    { maxDisks: 1 },
    vm({ disks: [{ name: 'a', size: '1Gi' }] }),
    'fail',
    '2 disks exceed the maximum of 1',
  ],
  [
    'total size within the cap',
    { maxTotalDiskSize: '100Gi' },
    vm({ disks: [{ name: 'a', size: '50Gi' }] }),
    'pass',
    '',
  ],
  [
    'total size counts existing disks',
    { maxTotalDiskSize: '100Gi' },
    vm({ disks: [{ name: 'a', virtualMachineDiskName: 'data' }] }),
    'fail',
    'disks total 20Gi + 500Gi, more than the maximum of 100Gi',
  ],
  ['allowed storage class', { allowedStorageClasses: ['local', 'ceph'] }, vm(), 'pass', ''],
  [
    'storage class not allowed',
    { allowedStorageClasses: ['ceph'] },
    vm(),
    'fail',
    'spec.bootDisk uses storage class "local"; allowed: ceph',
  ],
  ['pod network allowed by default name', { allowedNetworks: ['pod'] }, vm(), 'pass', ''],
  [
    'an L2 network not allowed',
    { allowedNetworks: ['pod'] },
    vm({ network: { interfaces: [{ name: 'nic0', network: 'vlan-42' }] } }),
    'fail',
    'spec.network.interfaces[0].network: "vlan-42" (interface nic0) is not allowed; allowed: pod',
  ],
  [
    'a Network matched by a glob, the pod network by its name',
    { allowedNetworks: ['pod', 'lab-*'] },
    vm({ network: { interfaces: [{ name: 'nic0' }, { name: 'nic1', network: 'lab-a' }] } }),
    'pass',
    '',
  ],
  [
    'the pod network not allowed, and one of two L2 networks',
    { allowedNetworks: ['lab-?'] },
    vm({
      network: {
        interfaces: [
          { name: 'nic0' },
          { name: 'nic1', network: 'lab-a' },
          { name: 'nic2', network: 'lab-10' },
        ],
      },
    }),
    'fail',
    'spec.network.interfaces[0]: interface nic0 is on the pod network ("pod"), which is not allowed; spec.network.interfaces[2].network: "lab-10" (interface nic2) is not allowed; allowed: lab-?',
  ],
  [
    'no interfaces: one on the pod network',
    { allowedNetworks: ['lab'] },
    vm(),
    'fail',
    `spec.network.interfaces: omitted, so the VM's one interface is on the pod network ("pod"), which is not allowed; allowed: lab`,
  ],
  [
    'an empty interface list is no interface at all',
    { allowedNetworks: ['lab'] },
    vm({ network: { interfaces: [] } }),
    'pass',
    '',
  ],
  ['required label present', { requiredLabels: [{ key: 'vmplane.io/owner' }] }, vm(), 'pass', ''],
  [
    'required label missing',
    { requiredLabels: [{ key: 'cost-center' }] },
    vm(),
    'fail',
    'label cost-center is required',
  ],
  [
    'label value not allowed',
    { requiredLabels: [{ key: 'vmplane.io/owner', values: ['team-b'] }] },
    vm(),
    'fail',
    'label vmplane.io/owner="team-a" must be one of team-b',
  ],
  [
    'a required label named like an Object member (constructor) is still missing',
    { requiredLabels: [{ key: 'constructor' }] },
    vm(),
    'fail',
    'label constructor is required',
  ],
  [
    'required annotation missing',
    { requiredAnnotations: [{ key: 'backup' }] },
    vm(),
    'fail',
    'annotation backup is required',
  ],
  ['GPUs forbidden, plain class', { allowGPUs: false }, vm(), 'pass', ''],
  [
    'GPUs forbidden, GPU class',
    { allowGPUs: false },
    vm({ className: 'gpu' }),
    'fail',
    'class "gpu" has GPUs or passthrough devices',
  ],
  ['GPUs allowed', { allowGPUs: true }, vm({ className: 'gpu' }), 'pass', ''],
  ['power state allowed', { allowedPowerStates: ['PoweredOn', 'PoweredOff'] }, vm(), 'pass', ''],
  [
    'power state not allowed',
    { allowedPowerStates: ['PoweredOn', 'PoweredOff'] },
    vm({ powerState: 'Suspended' }),
    'fail',
    'power state Suspended is not allowed; allowed: PoweredOn, PoweredOff',
  ],
];

describe('built-in rules', () => {
  it.each(builtins)('%s', async (_n, rules, object, want, words) => {
    const [r] = await run(policy({ rules }), object);
    expect(r?.result).toBe(want);
    if (words) expect(r?.message).toContain(words);
  });
});

describe('allowedImages patterns', () => {
  it('compile once per policy generation and match as before', async () => {
    const patterns = ['ubuntu-*', 'ClusterVirtualMachineImage/debian-1?'];
    const first = imageMatchers(patterns);
    expect(imageMatchers(patterns)).toBe(first);
    expect(
      first.map((m) => [
        m.withKind,
        m.match('ubuntu-24.04'),
        m.match('ClusterVirtualMachineImage/debian-12'),
      ]),
    ).toEqual([
      [false, true, false],
      [true, false, true],
    ]);
  });
});
