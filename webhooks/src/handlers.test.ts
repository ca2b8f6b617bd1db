// The admission handlers as a table from kind to handler: which kinds and operations each webhook
// acts on, and the exact answer for each.
import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { PolicyCompiler } from '../../policy/src/index.ts';
import { API_VERSION, vm, vmClass } from '../../test/support/builders.ts';
import { celEngine } from '../../test/support/cel.ts';
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
  it('ignores other groups and operations other than CREATE and UPDATE', async () => {
    expect(
      await handleMutation(
        { ...request('Pod', 'CREATE', {}), kind: { group: '', version: 'v1', kind: 'Pod' } },
        staticLookups({}),
      ),
    ).toMatchObject({ outcome: 'ignored', notes: ['not mutated'] });
    expect(
      await handleMutation(request('VirtualMachine', 'DELETE'), staticLookups({})),
    ).toMatchObject({
      outcome: 'ignored',
      notes: ['not mutated'],
    });
  });

  it('has no mutation for kinds without one', async () => {
    expect(
      await handleMutation(
        request('VirtualMachineClass', 'CREATE', vmClass('small')),
        staticLookups({}),
      ),
    ).toMatchObject({ outcome: 'ignored', notes: ['no mutation for VirtualMachineClass'] });
  });

  it('leaves an object that breaks its schema to the API server', async () => {
    const bad = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachine',
      metadata: { name: 'x' },
      spec: { className: 7 },
    };
    expect(
      await handleMutation(request('VirtualMachine', 'CREATE', bad), staticLookups({})),
    ).toMatchObject({
      outcome: 'ignored',
      notes: ['object does not match its schema; left to the API server'],
    });
  });

  it('settles storage of a disk only at creation', async () => {
    const d = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'data', namespace: 'team-a' },
      spec: { size: '1Gi' },
    };
    expect(
      await handleMutation(request('VirtualMachineDisk', 'UPDATE', d), staticLookups({})),
    ).toMatchObject({ outcome: 'ignored', notes: ['storage is settled at creation'] });
  });

  it('patches a VM with its defaults', async () => {
    const l = staticLookups({
      classes: [vmClass('small')],
      namespaces: [
        { metadata: { name: 'team-a', annotations: { 'vmplane.io/default-class': 'small' } } },
      ],
    });
    const h = await handleMutation(
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

const engine = await celEngine();
const shared = new PolicyCompiler(engine);

const celPolicy = (expression: string, name = 'p'): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'VirtualMachinePolicy',
  metadata: { name },
  spec: { validationActions: ['Deny'], validations: [{ expression }] },
});

describe('handleValidation', () => {
  it('refuses a policy whose CEL does not compile, with the field, the error and its position', async () => {
    const h = await handleValidation(
      request('VirtualMachinePolicy', 'CREATE', celPolicy('object.spec.(')),
      staticLookups({}),
      shared,
    );
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.code).toBe(422);
    expect(h.response.status?.message).toMatch(
      /^CEL refused: spec\.validations\[0\]\.expression: Syntax error: .* at line 1, column 13$/,
    );
  });

  it('refuses a policy whose estimated cost is over the per-expression limit, with both figures', async () => {
    // Three nested walks over 256 labels (the estimate's bound) could cost ~1.2e8.
    const h = await handleValidation(
      request(
        'VirtualMachinePolicy',
        'CREATE',
        celPolicy(
          'object.metadata.labels.all(k, object.metadata.labels.all(j, object.metadata.labels.all(i, k == j || j != i)))',
        ),
      ),
      staticLookups({}),
      shared,
    );
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.message).toMatch(
      /^CEL refused: spec\.validations\[0\]\.expression: estimated cost \d+ exceeds the per-expression limit of 1000000; /,
    );
    // One walk over a bounded list is well within it.
    const ok = await handleValidation(
      request(
        'VirtualMachinePolicy',
        'CREATE',
        celPolicy("object.spec.disks.all(d, d.name != '')"),
      ),
      staticLookups({}),
      shared,
    );
    expect(ok.outcome).toBe('allowed');
  });

  it('admits a policy with a type error against the VM schema, with a warning naming it', async () => {
    const h = await handleValidation(
      request('VirtualMachinePolicy', 'CREATE', celPolicy('object.spec.cpus > 2')),
      staticLookups({}),
      shared,
    );
    expect(h.outcome).toBe('warned');
    expect(h.response.warnings).toEqual([
      "spec.validations[0].expression: type check against the schemas: undefined field 'cpus' at line 1, column 12",
    ]);
  });

  it('denies, failing closed and saying so, when the CEL time budget runs out', async () => {
    const slow = new PolicyCompiler(engine, 1);
    const p = celPolicy(
      'object.spec.disks.all(a, object.spec.disks.all(b, object.spec.disks.all(c, [1, 2, 3, 4, 5, 6, 7, 8].all(x, [1, 2, 3, 4, 5, 6, 7, 8].all(y, a.name + b.name + c.name != string(x) + string(y))))))',
      'slow',
    );
    const disks = Array.from({ length: 32 }, (_, i) => ({ name: `d${i}`, size: '1Gi' }));
    const h = await handleValidation(
      request('VirtualMachine', 'CREATE', vm('web', { disks }) as never),
      staticLookups({ policies: [p as never] }),
      slow,
    );
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.message).toMatch(
      // Stopped in the comprehension, or (on a busy machine) out of time before it began.
      /policy "slow" rule cel-0: expression could not be evaluated: (evaluation stopped: it exceeded the request's CEL time budget of 1 ms \(vmplane's bound on evaluation cost\)|not evaluated: the request's CEL time budget of 1 ms \(vmplane's bound on evaluation cost\) had run out) \(Deny fails closed on an evaluation error\)$/,
    );
  });

  it('refuses deleting a class that VMs use, counting them', async () => {
    const l = staticLookups({ vms: [vm('web', { className: 'small' })] });
    const h = await handleValidation(
      request('VirtualMachineClass', 'DELETE', undefined, { name: 'small', namespace: undefined }),
      l,
      shared,
    );
    expect(h.response).toEqual({
      uid: 'u-1',
      allowed: false,
      status: {
        code: 409,
        reason: 'Conflict',
        message:
          'VirtualMachineClass "small" is still used by 1 VM or disk in 1 namespace (not named here: they may be in namespaces you cannot read); move them to another one or delete them first',
      },
    });
  });

  it('runs the policies on a VM delete', async () => {
    const compiler = shared;
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
    const h = await handleValidation(
      request('VirtualMachine', 'DELETE', undefined, {
        name: 'web',
        oldObject: vm('web') as never,
      }),
      l,
      compiler,
    );
    expect(h.response.status?.message).toBe('policy "keep" rule cel-0: VMs stay');
  });

  it('refuses deleting a disk a VM of its namespace still names, naming the VM', async () => {
    const l = staticLookups({
      vms: [vm('db', { disks: [{ name: 'data', virtualMachineDiskName: 'd' }] })],
    });
    const refused = await handleValidation(
      request('VirtualMachineDisk', 'DELETE', undefined, { name: 'd' }),
      l,
      shared,
    );
    expect(refused.response.status).toEqual({
      code: 409,
      reason: 'Conflict',
      message:
        'VirtualMachineDisk "d" is still attached to VM "db": remove it from the VM\'s spec.disks (or delete the VM) first',
    });
    const free = await handleValidation(
      request('VirtualMachineDisk', 'DELETE', undefined, { name: 'other' }),
      l,
      shared,
    );
    expect(free).toMatchObject({ outcome: 'allowed', response: { allowed: true } });
  });

  it('refuses an object that breaks its schema with the schema message', async () => {
    const bad = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachineClass',
      metadata: { name: 'x' },
      spec: { hardware: { cpus: 'two', memory: '1Gi' } },
    };
    const h = await handleValidation(
      request('VirtualMachineClass', 'CREATE', bad),
      staticLookups({}),
      shared,
    );
    expect(h.outcome).toBe('denied');
    expect(h.response.status?.code).toBe(422);
  });
});
