// Expectations follow KubeVirt v1.7.0 pkg/virt-handler/vm.go (calculateLiveMigrationCondition)
// and pkg/network/vmispec/interface.go (VerifyVMIMigratable).
import { describe, expect, it } from 'vitest';
import { liveMigratable } from './live-migratable.ts';

describe('liveMigratable', () => {
  it('says True for masquerade and shared claims, and with no interface and no claim', () => {
    expect(liveMigratable({ podBinding: 'masquerade', claims: [] })).toEqual({
      type: 'LiveMigratable',
      status: 'True',
    });
    expect(
      liveMigratable({ claims: [{ claimName: 'd', accessModes: ['ReadWriteMany'] }] }).status,
    ).toBe('True');
  });
  it('refuses a bridge on the pod network first, then a claim that is not shared', () => {
    expect(
      liveMigratable({
        podBinding: 'bridge',
        claims: [{ claimName: 'd', accessModes: ['ReadWriteOnce'] }],
      }),
    ).toMatchObject({ status: 'False', reason: 'InterfaceNotLiveMigratable' });
    expect(liveMigratable({ podBinding: 'bridge', bridgeAllowed: true, claims: [] }).status).toBe(
      'True',
    );
    expect(
      liveMigratable({
        podBinding: 'masquerade',
        claims: [{ claimName: 'd', accessModes: ['ReadWriteOnce'] }],
      }),
    ).toMatchObject({
      reason: 'DisksNotLiveMigratable',
      message: expect.stringContaining('PVC d is not shared'),
    });
    expect(liveMigratable({ claims: [{ claimName: 'dv' }] }).message).toContain(
      'Unable to determine if PVC dv is shared',
    );
  });
});
