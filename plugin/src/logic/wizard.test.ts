import { describe, expect, it } from 'vitest';
import {
  buildVm,
  classesForNamespace,
  firstInvalidStep,
  imageChoices,
  initialState,
  validateStep,
  type WizardState,
} from './wizard';

const complete = (): WizardState => ({
  ...initialState('team-a'),
  name: 'web-1',
  className: 'small',
  image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
});

describe('validateStep', () => {
  it('needs a namespace and a DNS-label name', () => {
    expect(validateStep('namespace', initialState())).toEqual({
      namespace: 'Choose a namespace.',
      name: 'Give the VM a name.',
    });
    const bad = validateStep('namespace', { ...complete(), name: 'Web_1' });
    expect(bad.name).toBe(
      '"Web_1" is not a valid name: use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.'
    );
    expect(validateStep('namespace', { ...complete(), name: 'a'.repeat(64) }).name).toBe(
      `"${'a'.repeat(
        64
      )}" is not a valid name: use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.`
    );
    expect(validateStep('namespace', complete())).toEqual({});
  });
  it('needs a class and an image; a boot disk size must be a size', () => {
    expect(validateStep('class', { ...complete(), className: '' })).toEqual({
      className: 'Choose a class.',
    });
    expect(validateStep('image', { ...complete(), image: null }).image).toBe(
      'Choose an image to boot from.'
    );
    expect(validateStep('image', { ...complete(), bootDiskSize: '0' }).bootDiskSize).toBe(
      '"0" is not a size; use a quantity such as 20Gi.'
    );
    expect(validateStep('image', { ...complete(), bootDiskSize: '40Gi' })).toEqual({});
  });
  it('names the disk field that is wrong', () => {
    const e = validateStep('disks', {
      ...complete(),
      disks: [
        { name: 'data', size: '10Gi', storageClassName: '' },
        { name: 'data', size: 'ten', storageClassName: '' },
        { name: 'boot', size: '1Gi', storageClassName: '' },
        { name: 'Bad', size: '1Gi', storageClassName: '' },
      ],
    });
    expect(e).toEqual({
      'disks.1.name': '"data" is used by another disk.',
      'disks.1.size': '"ten" is not a size; use a quantity such as 50Gi.',
      'disks.2.name': '"boot" is reserved; choose another name.',
      'disks.3.name': '"Bad" is not a valid disk name: lower-case letters, digits and "-".',
    });
  });
  it('caps the disk count at 32 with the boot disk', () => {
    const disks = Array.from({ length: 32 }, (_, i) => ({
      name: `d${i}`,
      size: '1Gi',
      storageClassName: '',
    }));
    expect(validateStep('disks', { ...complete(), disks }).disks).toBe(
      'A VM has at most 32 disks, the boot disk included.'
    );
    expect(validateStep('disks', { ...complete(), disks: disks.slice(1) })).toEqual({});
  });
  it('checks cloud-init starts like cloud-init and fits in 32 KiB', () => {
    expect(validateStep('cloudInit', { ...complete(), cloudInit: 'users: []' }).cloudInit).toBe(
      'cloud-init user data starts with "#cloud-config" (or "#!" for a script).'
    );
    expect(
      validateStep('cloudInit', { ...complete(), cloudInit: '#cloud-config\nusers: []' })
    ).toEqual({});
    expect(validateStep('cloudInit', { ...complete(), cloudInit: '#!/bin/sh\necho hi' })).toEqual(
      {}
    );
    expect(
      validateStep('cloudInit', { ...complete(), cloudInit: `#cloud-config\n${'x'.repeat(33000)}` })
        .cloudInit
    ).toBe('cloud-init user data is limited to 32 KiB.');
  });
  it('review repeats every earlier check', () => {
    expect(
      Object.keys(validateStep('review', { ...complete(), className: '', name: '' })).sort()
    ).toEqual(['className', 'name']);
  });
});

describe('firstInvalidStep', () => {
  it('is the earliest step with an error, none when complete', () => {
    expect(firstInvalidStep({ ...complete(), image: null, className: '' })).toBe('class');
    expect(firstInvalidStep(complete())).toBeUndefined();
  });
});

describe('classesForNamespace', () => {
  const cls = (name: string, namespaceSelector?: object) =>
    ({ metadata: { name }, spec: { cpus: 1, memory: '1Gi', namespaceSelector } } as never);
  it('keeps classes whose namespaceSelector matches, sorted by name', () => {
    const classes = [
      cls('zeta'),
      cls('gpu', { matchLabels: { tier: 'gpu' } }),
      cls('alpha', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }),
    ];
    expect(classesForNamespace(classes, { env: 'dev' }).map(c => c.metadata.name)).toEqual([
      'alpha',
      'zeta',
    ]);
    expect(
      classesForNamespace(classes, { env: 'prod', tier: 'gpu' }).map(c => c.metadata.name)
    ).toEqual(['gpu', 'zeta']);
  });
});

describe('imageChoices', () => {
  it('lists namespace images before the cluster library, with OS, size and readiness', () => {
    const choices = imageChoices(
      [
        {
          metadata: { name: 'win' },
          spec: { osInfo: { name: 'windows', version: '2022' }, size: '60Gi' },
          status: { conditions: [{ type: 'Ready', status: 'False' }] },
        },
      ] as never,
      [
        { metadata: { name: 'ubuntu' }, spec: {}, status: {} },
        { metadata: { name: 'alma' }, spec: { osInfo: { name: 'alma' } } },
      ] as never
    );
    expect(choices).toEqual([
      {
        kind: 'VirtualMachineImage',
        name: 'win',
        label: 'win',
        os: 'windows 2022',
        size: '60Gi',
        ready: false,
      },
      {
        kind: 'ClusterVirtualMachineImage',
        name: 'alma',
        label: 'alma (cluster library)',
        os: 'alma',
        size: '-',
        ready: true,
      },
      {
        kind: 'ClusterVirtualMachineImage',
        name: 'ubuntu',
        label: 'ubuntu (cluster library)',
        os: '-',
        size: '-',
        ready: true,
      },
    ]);
  });
});

describe('buildVm', () => {
  it('sends only what the user chose', () => {
    expect(buildVm(complete())).toEqual({
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachine',
      metadata: { name: 'web-1', namespace: 'team-a' },
      spec: {
        className: 'small',
        image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
        powerState: 'PoweredOn',
      },
    });
  });
  it('adds the boot disk size, data disks, cloud-init and the power state when set', () => {
    const vm = buildVm({
      ...complete(),
      bootDiskSize: '40Gi',
      disks: [
        { name: 'data', size: '100Gi', storageClassName: 'fast' },
        { name: 'logs', size: '10Gi', storageClassName: '' },
      ],
      cloudInit: '#cloud-config\n',
      startAfterCreate: false,
    });
    expect(vm.spec).toEqual({
      className: 'small',
      image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
      bootDisk: { size: '40Gi' },
      disks: [
        { name: 'data', size: '100Gi', storageClassName: 'fast' },
        { name: 'logs', size: '10Gi' },
      ],
      bootstrap: { cloudInit: { userData: '#cloud-config\n' } },
      powerState: 'PoweredOff',
    });
  });
});

describe('buildVm with a network', () => {
  it('keeps the pod network first and adds the chosen Network as the second interface', () => {
    expect(buildVm({ ...complete(), network: 'vlan100' }).spec.network).toEqual({
      interfaces: [{ name: 'default' }, { name: 'nic1', network: 'vlan100' }],
    });
    expect(buildVm(complete()).spec.network).toBeUndefined();
  });
});
