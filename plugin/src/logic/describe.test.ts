import { describe, expect, it } from 'vitest';
import { policyRules, profileView } from './describe';

describe('policyRules', () => {
  it('lists built-in rules then CEL validations', () => {
    expect(
      policyRules({
        rules: { maxCPUs: 4, allowedImages: ['ubuntu-*'] },
        validations: [
          { expression: 'object.spec.className != "huge"', message: 'no huge' },
          { name: 'named', expression: 'true' },
        ],
      } as never)
    ).toEqual([
      { rule: 'maxCPUs', detail: '4' },
      { rule: 'allowedImages', detail: '["ubuntu-*"]' },
      { rule: 'cel-0', detail: 'object.spec.className != "huge" — no huge' },
      { rule: 'named', detail: 'true' },
    ]);
  });
  it('is empty for an empty policy', () => {
    expect(policyRules({} as never)).toEqual([]);
  });
});

describe('profileView', () => {
  it('shows modes in effect and whether the provisioner is recognized', () => {
    expect(
      profileView({
        spec: {},
        status: {
          claimPropertySets: [
            { accessModes: ['ReadWriteMany'], volumeMode: 'Block' },
            { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' },
          ],
          conditions: [{ type: 'Recognized', status: 'True', message: 'ceph rbd' }],
        },
      } as never)
    ).toEqual({
      modes: 'ReadWriteMany / Block, ReadWriteOnce / Filesystem',
      recognized: true,
      message: 'ceph rbd',
    });
  });
  it('says how to fix an unknown provisioner', () => {
    const v = profileView({
      spec: {},
      status: {
        conditions: [
          { type: 'Recognized', status: 'False', message: 'set spec.claimPropertySets' },
        ],
      },
    } as never);
    expect(v).toEqual({ modes: '-', recognized: false, message: 'set spec.claimPropertySets' });
  });
});
