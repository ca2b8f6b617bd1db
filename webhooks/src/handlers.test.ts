// The admission handlers as a table from kind to handler: which kinds and operations each webhook
// acts on, and the exact answer for each.
import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { PolicyCompiler } from '../../policy/src/index.ts';
import { API_VERSION, vm, vmClass } from '../../test/support/builders.ts';
import type { AdmissionRequest } from './admission.ts';
import { handleMutation, handleValidation } from './handlers.ts';

const request = (
  kind: string,
  operation: AdmissionRequest['operation'],
  object?: object,
  extra: Partial<AdmissionRequest> = {},
): AdmissionRequest => ({
  uid: 'u-1',
  kind: { group: 'vmplane.io', version: 'v1alpha1', kind },
  operation,
  namespace: 'team-a',
  object: (object ?? null) as Record<string, unknown> | null,
  ...extra,
});

const decode = (patch: string | undefined): unknown =>
  patch ? JSON.parse(Buffer.from(patch, 'base64').toString()) : undefined;

describe('handleMutation', () => {
  it('ignores other groups and operations other than CREATE and UPDATE', () => {
    expect(
      handleMutation(
        { ...request('Pod', 'CREATE', {}), kind: { group: '', version: 'v1', kind: 'Pod' } },
        staticLookups({}),
      ),
    ).toMatchObject({ outcome: 'ignored', notes: ['not mutated'] });
    expect(handleMutation(request('VirtualMachine', 'DELETE'), staticLookups({}))).toMatchObject({
      outcome: 'ignored',
      notes: ['not mutated'],
    });
  });

  it('has no mutation for kinds without one', () => {
    expect(
      handleMutation(request('VirtualMachineClass', 'CREATE', vmClass('small')), staticLookups({})),
    ).toMatchObject({ outcome: 'ignored', notes: ['no mutation for VirtualMachineClass'] });
  });

  it('leaves an object that breaks its schema to the API server', () => {
    const bad = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachine',
      metadata: { name: 'x' },
      spec: { className: 7 },
    };
    expect(
      handleMutation(request('VirtualMachine', 'CREATE', bad), staticLookups({})),
    ).toMatchObject({
      outcome: 'ignored',
      notes: ['object does not match its schema; left to the API server'],
    });
  });

  it('settles storage of a disk only at creation', () => {
    const d = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'data', namespace: 'team-a' },
      spec: { size: '1Gi' },
    };
    expect(
      handleMutation(request('VirtualMachineDisk', 'UPDATE', d), staticLookups({})),
    ).toMatchObject({ outcome: 'ignored', notes: ['storage is settled at creation'] });
  });

  it('patches a VM with its defaults', () => {
    const l = staticLookups({
      classes: [vmClass('small')],
      namespaces: [
        { metadata: { name: 'team-a', annotations: { 'vmplane.io/default-class': 'small' } } },
      ],
    });
    const h = handleMutation(
      request(
        'VirtualMachine',
        'CREATE',
        vm('web', {
          bootDisk: {
            size: '1Gi',
            storageClassName: 'x',
            accessModes: ['ReadWriteOnce'],
            volumeMode: 'Block',
          },
          disks: [{ name: 'boot', boot: true, virtualMachineDiskName: 'os' }],
        }),
      ),
      l,
    );
    expect(h.outcome).toBe('patched');
    expect(decode(h.response.patch)).toEqual(
      expect.arrayContaining([{ op: 'add', path: '/spec/className', value: 'small' }]),
    );
  });
});

describe('handleValidation', () => {
  it('refuses a policy whose CEL does not compile, with the field and the error', () => {
    const p = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'p' },
      spec: { validationActions: ['Deny'], validations: [{ expression: 'object.spec.(' }] },
    };
    const h = handleValidation(request('VirtualMachinePolicy', 'CREATE', p), staticLookups({}));
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.code).toBe(422);
    expect(h.response.status?.message).toMatch(
      /^CEL does not compile: spec\.validations\[0\]\.expression: /,
    );
  });

  it('refuses deleting a class that VMs use, naming them', () => {
    const l = staticLookups({ vms: [vm('web', { className: 'small' })] });
    const h = handleValidation(
      request('VirtualMachineClass', 'DELETE', undefined, { name: 'small', namespace: undefined }),
      l,
    );
    expect(h.response).toEqual({
      uid: 'u-1',
      allowed: false,
      status: {
        code: 409,
        reason: 'Conflict',
        message:
          'VirtualMachineClass "small" is still used by 1 VM or disk: team-a/web; move them to another one or delete them first',
      },
    });
  });

  it('runs the policies on a VM delete, and has no delete check for disks', () => {
    const compiler = new PolicyCompiler();
    const deny = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'keep' },
      spec: {
        validationActions: ['Deny'],
        match: { operations: ['DELETE'] },
        validations: [{ expression: 'false', message: 'VMs stay' }],
      },
    };
    const l = staticLookups({ policies: [deny as never] });
    const h = handleValidation(
      request('VirtualMachine', 'DELETE', undefined, {
        name: 'web',
        oldObject: vm('web') as never,
      }),
      l,
      compiler,
    );
    expect(h.response.status?.message).toBe('policy "keep" rule cel-0: VMs stay');
    expect(
      handleValidation(
        request('VirtualMachineDisk', 'DELETE', undefined, { name: 'd' }),
        l,
        compiler,
      ),
    ).toMatchObject({ outcome: 'ignored', notes: ['no delete check for VirtualMachineDisk'] });
  });

  it('refuses an object that breaks its schema with the schema message', () => {
    const bad = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachineClass',
      metadata: { name: 'x' },
      spec: { hardware: { cpus: 'two', memory: '1Gi' } },
    };
    const h = handleValidation(request('VirtualMachineClass', 'CREATE', bad), staticLookups({}));
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.code).toBe(422);
  });
});
