import { describe, expect, it } from 'vitest';
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { staticLookups } from '../../../kube/src/lookups.ts';
import { vm } from '../../../test/support/builders.ts';
import { auditInputs } from './inputs.ts';

const policy = (generation: number, status?: object): VirtualMachinePolicy =>
  ({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachinePolicy',
    metadata: { name: 'p', uid: 'u', generation, resourceVersion: String(Math.random()) },
    spec: { validationActions: ['Deny'] },
    ...(status ? { status } : {}),
  }) as VirtualMachinePolicy;

describe('auditInputs', () => {
  const web = {
    ...vm('web', { className: 'small' }, { uid: 'w' }),
    metadata: { name: 'web', namespace: 'team-a', uid: 'w', generation: 1 },
  };

  it('does not change when only a status changes (the audit writing its own results)', () => {
    const before = auditInputs(staticLookups({ vms: [web], policies: [policy(1)] }));
    const after = auditInputs(
      staticLookups({
        vms: [{ ...web, status: { phase: 'Running' } as never }],
        policies: [policy(1, { lastAuditTime: 'now' })],
      }),
    );
    expect(after).toBe(before);
  });

  it('changes with a spec (generation), a label, or a new object', () => {
    const base = auditInputs(staticLookups({ vms: [web], policies: [policy(1)] }));
    expect(auditInputs(staticLookups({ vms: [web], policies: [policy(2)] }))).not.toBe(base);
    const labelled = { ...web, metadata: { ...web.metadata, labels: { owner: 'x' } } };
    expect(auditInputs(staticLookups({ vms: [labelled], policies: [policy(1)] }))).not.toBe(base);
    expect(
      auditInputs(
        staticLookups({
          vms: [web, { ...web, metadata: { ...web.metadata, name: 'db', uid: 'd' } }],
          policies: [policy(1)],
        }),
      ),
    ).not.toBe(base);
  });
});
