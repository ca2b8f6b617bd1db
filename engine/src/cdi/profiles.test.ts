import { describe, expect, it } from 'vitest';
import { PLAYED_CAPABILITIES, profileStatus } from './profiles.ts';
import { dataVolumeState } from './templates.ts';

describe('profileStatus (storageprofile-controller.go)', () => {
  it('takes the user’s sets, else CDI’s table, else what the engine plays; unknown ones get none', () => {
    expect(
      profileStatus({ className: 'c', provisioner: 'ebs.csi.aws.com', played: [] }),
    ).toMatchObject({
      ok: true,
      status: { claimPropertySets: [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Block' }] },
    });
    expect(
      profileStatus({
        className: 'c',
        provisioner: 'rancher.io/local-path',
        played: ['rancher.io/local-path'],
      }),
    ).toMatchObject({ ok: true, status: { claimPropertySets: PLAYED_CAPABILITIES } });
    const unknown = profileStatus({ className: 'c', provisioner: 'x.example', played: [] });
    expect(unknown.ok && unknown.status.claimPropertySets).toBeUndefined();
    expect(
      profileStatus({
        className: 'c',
        provisioner: 'x',
        played: [],
        specSets: [{ accessModes: ['ReadWriteMany'] }],
      }).ok,
    ).toBe(false);
  });
});

describe('dataVolumeState (KubeVirt HasDataVolumeErrors)', () => {
  it('reads Failed and Running=False Error as errors, Succeeded and WFFC as ready', () => {
    expect(dataVolumeState({ status: { phase: 'Failed' } })).toBe('error');
    expect(
      dataVolumeState({
        status: {
          phase: 'ImportInProgress',
          conditions: [{ type: 'Running', status: 'False', reason: 'Error' }],
        },
      }),
    ).toBe('error');
    expect(dataVolumeState({ status: { phase: 'ImportInProgress' } })).toBe('provisioning');
    expect(dataVolumeState({ status: { phase: 'WaitForFirstConsumer' } })).toBe('ready');
    expect(dataVolumeState({ status: { phase: 'Succeeded' } })).toBe('ready');
  });
});
