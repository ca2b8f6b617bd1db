import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import { REPO_ROOT } from './paths.ts';
import { fieldPath, ObjectValidator } from './validate.ts';
import { API_VERSION } from './wellknown.ts';

const validator = new ObjectValidator();
const examples = loadManifestDir(join(REPO_ROOT, 'examples')).filter(
  (m) => m.object.apiVersion === API_VERSION,
);

describe('ajv validation from the generated schemas', () => {
  it('knows every kind', () => {
    expect(validator.kinds().sort()).toEqual(
      [
        'ClusterVirtualMachineImage',
        'Network',
        'NetworkAddress',
        'NetworkAttachmentDefinition',
        'PolicyReport',
        'StorageProfile',
        'VirtualMachine',
        'VirtualMachineClass',
        'VirtualMachineDisk',
        'VirtualMachineImage',
        'VirtualMachinePolicy',
        'VirtualMachinePolicyException',
        'VirtualMachineService',
      ].sort(),
    );
  });

  it.each(examples.map((e) => [`${e.file} ${e.object.kind}/${e.object.metadata.name}`, e.object]))(
    'accepts example %s',
    (_n, obj) => {
      expect(validator.validate(obj)).toEqual({ valid: true, errors: [] });
    },
  );

  const vm = {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name: 'x' },
    spec: { className: 'small', image: { name: 'ubuntu' } },
  };

  it.each([
    [
      'a power state that does not exist',
      { powerState: 'On' },
      'spec.powerState: must be one of PoweredOn, PoweredOff, Suspended (got "On")',
    ],
    [
      'memory in a disk without a unit',
      { disks: [{ name: 'd', size: '20' }] },
      'spec.disks[0].size: must match pattern',
    ],
    ['a disk with no name', { disks: [{ size: '1Gi' }] }, 'spec.disks[0].name: required'],
    [
      'a probe port out of range',
      { readinessProbe: { tcpSocket: { port: 70000 } } },
      'spec.readinessProbe.tcpSocket.port: must be <= 65535',
    ],
    ['an upper-case class name', { className: 'Small' }, 'spec.className: must match pattern'],
  ])('refuses %s, naming the field', (_n, specPatch, expected) => {
    const result = validator.validate({ ...vm, spec: { ...vm.spec, ...specPatch } });
    expect(result.valid).toBe(false);
    expect(result.errors.join('\n')).toContain(expected);
  });

  it('refuses an unknown kind with the list of kinds', () => {
    const result = validator.validate({ ...vm, kind: 'VirtualMachin' });
    expect(result.errors[0]).toMatch(
      /^kind: "VirtualMachin" is not a vmplane kind; expected one of .*VirtualMachine/,
    );
  });

  it('refuses a wrong apiVersion', () => {
    expect(validator.validate({ ...vm, apiVersion: 'vmplane.io/v1' }).errors.join()).toContain(
      'apiVersion: must be equal to constant',
    );
  });

  it('writes JSON pointers as kubectl field paths', () => {
    expect(fieldPath('/spec/disks/3/name')).toBe('spec.disks[3].name');
    expect(fieldPath('/metadata/annotations/vmplane.io~1owner')).toBe(
      'metadata.annotations.vmplane.io/owner',
    );
    expect(fieldPath('', 'spec')).toBe('spec');
    expect(fieldPath('')).toBe('(root)');
  });
});
