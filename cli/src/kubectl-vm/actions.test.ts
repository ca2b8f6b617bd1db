import { describe, expect, it } from 'vitest';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { ApiError } from '../../../kube/src/rest.ts';
import {
  allowedActions,
  buildVm,
  explainError,
  parseDiskFlag,
  parseWarnings,
  powerPlan,
  withoutVmplaneFinalizers,
} from './actions.ts';

const withStatus = (printableStatus: string): VirtualMachine => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachine',
  metadata: { name: 'x' },
  spec: {},
  status: { printableStatus },
});

describe('kubectl vm decisions', () => {
  it('maps power actions to desired state, and knows when each is done', () => {
    expect(powerPlan('start').patch).toEqual({ spec: { powerState: 'PoweredOn' } });
    expect(powerPlan('stop', { force: true }).patch).toEqual({
      spec: { powerState: 'PoweredOff', powerOffMode: 'Hard' },
    });
    expect(powerPlan('pause').patch).toEqual({ spec: { powerState: 'Suspended' } });
    expect(powerPlan('resume').patch).toEqual({ spec: { powerState: 'PoweredOn' } });
    expect(powerPlan('restart').subresource).toEqual({
      kind: 'virtualmachines',
      verb: 'restart',
      body: {},
    });
    expect(powerPlan('stop').done(withStatus('Stopped'))).toBe(true);
    expect(powerPlan('stop').done(withStatus('Stopping'))).toBe(false);
    expect(powerPlan('pause').done(withStatus('Paused'))).toBe(true);
  });

  it.each([
    ['Running', ['stop', 'restart', 'pause']],
    ['Stopped', ['start']],
    ['Paused', ['start', 'restart', 'resume']],
    ['Stopping', []],
    ['Migrating', ['stop']],
    ['Unknown', []],
    ['ErrorUnschedulable', ['start', 'stop', 'restart']],
  ])('allows in state %s: %j', (state, want) => {
    expect(allowedActions(state)).toEqual(want);
  });

  it('parses --disk flags, saying which keys are accepted', () => {
    expect(
      parseDiskFlag('size=20Gi,storageClass=fast,accessMode=ReadWriteMany,volumeMode=Block', 0),
    ).toEqual({
      name: 'disk0',
      size: '20Gi',
      storageClassName: 'fast',
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
    expect(parseDiskFlag('existing=pg-data,name=data', 1)).toEqual({
      name: 'data',
      virtualMachineDiskName: 'pg-data',
    });
    expect(() => parseDiskFlag('sise=20Gi', 0)).toThrow(
      '--disk: unknown key sise; accepted keys: name, size, storageClass, accessMode, volumeMode, existing',
    );
    expect(() => parseDiskFlag('storageClass=x', 0)).toThrow('size is required for a new disk');
    expect(() => parseDiskFlag('20Gi', 0)).toThrow('--disk: "20Gi" is not KEY=VALUE');
  });

  it('builds the VM from flags', () => {
    expect(
      buildVm({
        name: 'w',
        namespace: 'n',
        className: 'c',
        image: 'i',
        disks: ['size=1Gi'],
        cloudInit: '#cloud-config\n',
        powerState: 'PoweredOff',
        labels: { a: 'b' },
      }),
    ).toEqual({
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachine',
      metadata: { name: 'w', namespace: 'n', labels: { a: 'b' } },
      spec: {
        className: 'c',
        image: { name: 'i' },
        disks: [{ name: 'disk0', size: '1Gi' }],
        bootstrap: { cloudInit: { userData: '#cloud-config\n' } },
        powerState: 'PoweredOff',
      },
    });
  });

  it('reads Kubernetes warning headers', () => {
    expect(parseWarnings(['299 - "policy \\"p\\" rule x: too big"', '299 - "second"'])).toEqual([
      'policy "p" rule x: too big',
      'second',
    ]);
    expect(parseWarnings(undefined)).toEqual([]);
  });

  it('explains 403 and 404 with who, what and where; passes webhook denials through unchanged', () => {
    expect(
      explainError(new ApiError(403, { message: 'virtualmachines.vmplane.io "w" is forbidden' }), {
        verb: 'patch',
        resource: 'virtualmachines',
        name: 'w',
        namespace: 'team',
        user: 'jane',
      }),
    ).toBe(
      'forbidden: user "jane" may not patch virtualmachines in namespace "team"; ask an administrator for a Role granting "patch" on virtualmachines (virtualmachines.vmplane.io "w" is forbidden)',
    );
    expect(
      explainError(new ApiError(404, { message: 'x' }), {
        verb: 'get',
        resource: 'virtualmachines',
        name: 'w',
        namespace: 'team',
      }),
    ).toBe('virtualmachine "w" not found in namespace "team"');
    const denial =
      'admission webhook "vm.validate.vmplane.io" denied the request: policy "p" rule maxCPUs: too many';
    expect(
      explainError(new ApiError(403, { message: denial }), {
        verb: 'create',
        resource: 'virtualmachines',
      }),
    ).toBe(denial);
  });
});

describe('release-finalizers', () => {
  it("takes off vmplane's finalizers and keeps everyone else's", () => {
    expect(withoutVmplaneFinalizers(['vmplane.io/vm-cleanup', 'example.com/backup'])).toEqual([
      'example.com/backup',
    ]);
    expect(withoutVmplaneFinalizers(['vmplane.io/disk-protection'])).toEqual([]);
    expect(withoutVmplaneFinalizers(['example.com/backup'])).toBeUndefined();
    expect(withoutVmplaneFinalizers(undefined)).toBeUndefined();
  });
});
